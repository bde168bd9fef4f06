package e2e_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// The operator console in a real browser (Debian's chromium, headless,
// driven by chromedp) over the shipped server and worker commands, the
// real Postgres, Redis and S3 servers and the simulator: an operator logs
// in, uploads a manifest and watches it finish, opens its failures,
// previews and confirms a requeue, decides a review case, downloads the
// export and reads it back, and switches to Chinese; a viewer sees no
// requeue button and is refused when posting its form anyway; a form
// posted without its CSRF token is refused. Screenshots of the main pages
// go to IVSBATCH_TEST_OUTPUT (default .run/test-output) /console.
func TestConsoleInBrowser(t *testing.T) {
	chromium := findChromium(t)
	h := newHarness(t, ivssim.Config{Quota: 50})
	shots := screenshotDir(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/server", "./cmd/worker")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s3 := h.s3
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(i), byte(100+i)
	}
	keys, err := pii.NewKeyring(map[string][]byte{"console": key}, "console", index)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.dbURL, store.WithKeyring(keys)) // the processes' keys
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	port := testenv.FreePort(t)
	env := append(cleanEnv(),
		"IVSBATCH_DATABASE_URL="+h.dbURL, "IVSBATCH_REDIS_ADDR="+h.redis,
		"IVSBATCH_S3_ENDPOINT="+s3.Endpoint, "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
		"AWS_REGION="+s3.Region, "IVSBATCH_S3_BUCKETS="+bucket, "IVS_ENDPOINT="+h.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK,
		"IVSBATCH_PII_KEYS=console:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index),
		"IVSBATCH_METRICS_ADDR=127.0.0.1:0", "IVSBATCH_SERVER_ADDR=127.0.0.1:"+strconv.Itoa(port))
	output := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and worker output:\n%s", output.tail(8000))
		}
	})
	command := func(ctx context.Context, stdin string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, output, output
		cmd.Stdin = strings.NewReader(stdin)
		return cmd
	}
	const alicePW, veraPW = "correct horse battery", "viewer horse battery"
	for _, u := range [][3]string{{"alice", "operator", alicePW}, {"vera", "viewer", veraPW}} {
		if err := command(h.ctx, u[2]+"\n", "server", "user-add", "-name", u[0], "-role", u[1]).Run(); err != nil {
			t.Fatalf("server user-add %s: %v\n%s", u[0], err, output.String())
		}
	}
	start := func(args ...string) {
		cmd := command(context.Background(), "", args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	start("server", "run")
	start("worker", "run", "-concurrency", "8", "-window", "20")
	base := "http://localhost:" + strconv.Itoa(port)
	waitFor(t, 60*time.Second, "the server listening", func() bool {
		return strings.Contains(output.String(), "listening on 127.0.0.1:"+strconv.Itoa(port))
	})

	manifest := filepath.Join(t.TempDir(), "june.csv")
	if err := os.WriteFile(manifest, h.pop.ManifestCSV("s3://"+bucket+"/"), 0o600); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true))...)
	defer cancelAlloc()
	op, cancelOp := chromedp.NewContext(alloc)
	defer cancelOp()
	if err := chromedp.Do(op); err != nil { // starts the browser, for the life of op
		t.Fatalf("start chromium: %v", err)
	}
	b := &browserSteps{t: t}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	login := func(ctx context.Context, user, password string) {
		t.Helper()
		b.do(ctx, "log in as "+user, 30*time.Second,
			chromedp.Navigate(base+"/batches"),
			chromedp.WaitVisible(css("#login")),
			chromedp.SendKeys(css("input[name=username]"), user),
			chromedp.SendKeys(css("input[name=password]"), password),
			chromedp.Submit(css("#login")),
			chromedp.WaitVisible(css("h1#batches-title")))
	}

	// Log in; a wrong password first.
	b.do(op, "wrong password", 30*time.Second,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(css("input[name=username]"), "alice"),
		chromedp.SendKeys(css("input[name=password]"), "not the password"),
		chromedp.Submit(css("#login")),
		chromedp.WaitVisible(css("#error")))
	login(op, "alice", alicePW)

	// Upload the manifest and watch the batch finish.
	b.do(op, "upload", 60*time.Second,
		chromedp.Navigate(base+"/upload"),
		chromedp.WaitVisible(css("#upload")),
		chromedp.SendKeys(css("input[name=name]"), "june payroll"),
		chromedp.SetUploadFiles(css("input[name=manifest]"), []string{manifest}),
		chromedp.Submit(css("#upload")),
		chromedp.WaitVisible(css("#flash")))
	loc := b.run(op, chromedp.Location())
	m := regexp.MustCompile(`/batches/(\d+)\?added=(\d+)$`).FindStringSubmatch(loc)
	if m == nil || m[2] != strconv.Itoa(len(h.pop.Rows)+1) {
		t.Fatalf("after the upload the browser is at %s, want the new batch with %d records added", loc, len(h.pop.Rows)+1)
	}
	batchID, _ := strconv.ParseInt(m[1], 10, 64)
	batchURL := base + "/batches/" + m[1]
	b.shot(op, shots, "batch-running")
	b.do(op, "the batch finishing (the page refreshes itself)", 3*time.Minute, chromedp.WaitVisible(css("#finished")))
	b.shot(op, shots, "batch")
	b.do(op, "batches page", 20*time.Second, chromedp.Navigate(base+"/batches"),
		chromedp.WaitVisible(css(`tr[data-batch="`+m[1]+`"]`)))
	b.shot(op, shots, "batches")

	// Its failures by reason, then a requeue previewed and confirmed.
	const code = "media.not_image"
	row := `#failures tr[data-code="` + code + `"]`
	b.do(op, "failures", 30*time.Second, chromedp.Navigate(batchURL), chromedp.WaitVisible(css(row)),
		chromedp.Click(css(row+" a.show")), chromedp.WaitVisible(css("table.records")))
	if failures := b.run(op, chromedp.Text(css("table.records"))); !strings.Contains(failures, code) {
		t.Fatalf("the failures page lacks %s:\n%s", code, failures)
	}
	b.shot(op, shots, "failures")
	b.do(op, "requeue preview", 30*time.Second, chromedp.Click(css("button.requeue")), chromedp.WaitVisible(css("#preview")))
	preview, cost := b.run(op, chromedp.Text(css("#preview"))), b.run(op, chromedp.Text(css("#cost")))
	if !strings.Contains(preview, "1 would be re-queued") || !strings.Contains(cost, "up to 1 paid IVS call") {
		t.Fatalf("preview %q, cost %q: want one record and its cost", preview, cost)
	}
	b.shot(op, shots, "requeue-preview")
	b.do(op, "requeue confirm", 30*time.Second, chromedp.Click(css("#confirm button")), chromedp.WaitVisible(css("#flash")))
	if flash := b.run(op, chromedp.Text(css("#flash"))); flash != "1 records re-queued." {
		t.Fatalf("after confirming: %q", flash)
	}
	rows, err := st.ListAudit(h.ctx, "requeue", 5)
	if err != nil || len(rows) != 1 || rows[0].Operator != "user:alice" || rows[0].BatchID != batchID {
		t.Fatalf("requeue audit rows %+v (%v): want one by user:alice", rows, err)
	}
	b.do(op, "the requeued record final again", 2*time.Minute, chromedp.Navigate(batchURL),
		chromedp.WaitVisible(css("#finished")))

	// A review case decided.
	cases, _, err := st.ListReview(h.ctx, store.ReviewFilter{BatchID: batchID, Limit: 10})
	if err != nil || len(cases) == 0 {
		t.Fatalf("review cases: %d (%v), want the 3001 records", len(cases), err)
	}
	rc := cases[0]
	form := `tr[data-record="` + strconv.FormatInt(rc.ID, 10) + `"] form.decide`
	b.do(op, "review queue", 30*time.Second, chromedp.Navigate(base+"/review"), chromedp.WaitVisible(css(form)))
	b.shot(op, shots, "review")
	b.do(op, "decide", 30*time.Second,
		chromedp.SetValue(css(form+" select"), "approve"),
		chromedp.SendKeys(css(form+" input[name=reason]"), "the customer's registry confirms the person"),
		chromedp.Submit(css(form)), chromedp.WaitVisible(css("#flash")))
	if got, err := st.GetRecord(h.ctx, rc.ID); err != nil || got.Status != pipeline.StatusReviewApproved {
		t.Fatalf("the approved record: %+v (%v), want approved in review", got, err)
	}
	b.do(op, "audit log", 30*time.Second, chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(css("#audit")))
	b.shot(op, shots, "audit")

	// The export downloaded and read back.
	if _, err := chromedp.CallBrowser(op, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.do(op, "export", 60*time.Second, chromedp.Navigate(batchURL), chromedp.WaitVisible(css("#export-csv")),
		chromedp.Click(css("#export-csv")))
	file := filepath.Join(downloads, "batch"+m[1]+".csv")
	waitFor(t, 60*time.Second, "the export downloaded", func() bool {
		_, err := os.Stat(file)
		_, partial := os.Stat(file + ".crdownload")
		return err == nil && partial != nil
	})
	checkExport(t, file, h, rc.ID)

	// Chinese.
	b.do(op, "switch to zh-CN", 30*time.Second, chromedp.Navigate(base+"/batches"),
		chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`html[lang="zh-CN"] h1`)))
	if heading := b.run(op, chromedp.Text(css("h1"))); heading != "批次列表" {
		t.Fatalf("after switching to zh-CN the heading is %q", heading)
	}
	b.shot(op, shots, "batches-zh-CN")
	b.do(op, "batch in zh-CN", 30*time.Second, chromedp.Navigate(batchURL), chromedp.WaitVisible(css("#finished")))
	b.shot(op, shots, "batch-zh-CN")

	// A form posted without its CSRF token is refused, and changes nothing.
	b.do(op, "a form without its CSRF token", 30*time.Second,
		chromedp.Navigate(batchURL), chromedp.WaitVisible(css("#finished")),
		evaluate(postForm("/batches/"+m[1]+"/requeue", map[string]string{"code": code})),
		chromedp.WaitNotPresent(css("#finished")))
	if refused := b.run(op, chromedp.Text(css("body"))); !strings.Contains(refused, "CSRF") {
		t.Fatalf("a requeue posted without its CSRF token answered: %q", refused)
	}
	if rows, _ := st.ListAudit(h.ctx, "requeue", 5); len(rows) != 1 {
		t.Fatalf("%d requeue audit rows after the refused form, want 1", len(rows))
	}

	// A viewer: no requeue button, and the endpoint refuses the form.
	viewer, cancelViewer := chromedp.NewContext(op, chromedp.WithNewBrowserContext())
	defer cancelViewer()
	if err := chromedp.Do(viewer); err != nil { // opens its tab, for the life of viewer
		t.Fatalf("open the viewer's tab: %v", err)
	}
	login(viewer, "vera", veraPW)
	b.do(viewer, "viewer's batch page", 30*time.Second, chromedp.Navigate(batchURL), chromedp.WaitVisible(css("#failures")))
	controls := b.runInt(viewer, chromedp.Evaluate[int](`document.querySelectorAll('button.requeue, form[action$="/requeue"], form[action$="/requeue/preview"]').length`))
	if controls != 0 {
		t.Fatalf("the viewer's batch page has %d requeue controls", controls)
	}
	b.shot(viewer, shots, "batch-viewer")
	token := b.run(viewer, chromedp.Value(css(`header form input[name=csrf_token]`)))
	if token == "" {
		t.Fatal("the viewer's page has no CSRF token")
	}
	b.do(viewer, "viewer posts the requeue form", 30*time.Second,
		evaluate(postForm("/batches/"+m[1]+"/requeue", map[string]string{"code": code, "csrf_token": token})),
		chromedp.WaitVisible(css("#error")))
	if answer := b.run(viewer, chromedp.Text(css("#error"))); answer != "Your role may not do this." {
		t.Fatalf("the viewer's requeue answered %q", answer)
	}
	if rows, _ := st.ListAudit(h.ctx, "requeue", 5); len(rows) != 1 {
		t.Fatalf("%d requeue audit rows after the viewer's form, want 1", len(rows))
	}
	for _, p := range h.pop.People() {
		for _, secret := range []string{p.Name, p.IDNumber} {
			if strings.Contains(output.String(), secret) {
				t.Errorf("person %d: personal data in the server's or worker's output", p.Index)
			}
		}
	}
}

// browserSteps runs chromedp actions for a test, failing it with the page's
// body when one fails.
type browserSteps struct{ t *testing.T }

func (b *browserSteps) do(ctx context.Context, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		body, _ := chromedp.Run(dctx, chromedp.OuterHTML(chromedp.CSS("body")))
		b.t.Fatalf("%s: %v\npage:\n%.4000s", what, err, body)
	}
}

func (b *browserSteps) run(ctx context.Context, a chromedp.Action[string]) string {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *browserSteps) runInt(ctx context.Context, a chromedp.Action[int]) int {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// shot saves a full-page PNG of the page as dir/name.png.
func (b *browserSteps) shot(ctx context.Context, dir, name string) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// evaluate runs JavaScript for its effect.
func evaluate(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return chromedp.Void{}, err
	}
}

// postForm is JavaScript that builds a form posting fields to path and
// submits it, as a page of another origin or a hand-made request would.
func postForm(path string, fields map[string]string) string {
	var b strings.Builder
	b.WriteString(`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = ` + strconv.Quote(path) + `;`)
	for k, v := range fields {
		fmt.Fprintf(&b, `{ const i = document.createElement('input'); i.type = 'hidden'; i.name = %s; i.value = %s; f.appendChild(i); }`,
			strconv.Quote(k), strconv.Quote(v))
	}
	b.WriteString(`document.body.appendChild(f); setTimeout(() => f.submit(), 0); return true; })()`)
	return b.String()
}

// checkExport reads the downloaded CSV back: every record of the manifest,
// the decided case approved in review with its decision, names and id
// numbers masked.
func checkExport(t *testing.T, file string, h *harness, decided int64) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	recs, err := csv.NewReader(br).ReadAll()
	if err != nil {
		t.Fatalf("read the export back: %v", err)
	}
	if len(recs) != len(h.pop.Rows)+2 {
		t.Fatalf("the export has %d lines, want a header and %d records", len(recs), len(h.pop.Rows)+1)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	found := false
	for _, r := range recs[1:] {
		if r[col["id"]] == strconv.FormatInt(decided, 10) {
			found = r[col["status"]] == i18n.English.Status(string(pipeline.StatusReviewApproved)) &&
				strings.HasPrefix(r[col["review_decision"]], i18n.English.Label("decision.approve"))
		}
	}
	if !found {
		t.Error("the export does not show the approved review case, approved, with its decision")
	}
	raw, _ := os.ReadFile(file)
	for _, p := range h.pop.People() {
		if strings.Contains(string(raw), p.IDNumber) || strings.Contains(string(raw), p.Name) {
			t.Errorf("person %d in clear in the export", p.Index)
		}
	}
}

// screenshotDir is where the test keeps its screenshots:
// $IVSBATCH_TEST_OUTPUT/console, by default .run/test-output/console.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IVSBATCH_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", ".run", "test-output")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitFor polls cond every 100 ms until it holds, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
