package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// The morning after a nightly run, as an operator lives it with the
// shipped ops command: two batches finished overnight (the second a GB18030
// manifest from Excel on Chinese Windows, one of whose names holds a rare
// character from GBK's user-defined area); ops batches lists both as
// finished; ops find finds a ref in both and an id number read from stdin;
// the review queue shows the 3001 case and the rare-character case with
// why; a decision moves the 3001 case to review_approved (ops find and ops
// status show it) and a re-verification with the corrected name makes one
// more paid call that ends valid. No output holds a name or id number in
// full.
func TestMorningAfter(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 50})
	// The store, the workers and the ops command share known keys.
	key, index := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	keys, err := pii.NewKeyring(map[string][]byte{"ops": key}, "ops", index)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.dbURL, store.WithKeyring(keys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	h.st = st
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/ops")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(cleanEnv(), "IVSBATCH_DATABASE_URL="+h.dbURL, "IVSBATCH_REDIS_ADDR="+h.redis,
		"IVSBATCH_PII_KEYS=ops:"+b64(key), "IVSBATCH_PII_INDEX_KEY="+b64(index), "USER=night-shift")

	first := h.submit()
	var nonexistent, match e2e.Row
	for _, r := range h.pop.Rows {
		if r.Shape == pipeline.ShapeName && r.Expect.Code == 3001 && nonexistent.Ref == "" {
			nonexistent = r
		}
		if r.Shape == pipeline.ShapeName && r.Expect.Code == 1000 && match.Ref == "" {
			match = r
		}
	}
	if nonexistent.Ref == "" || match.Ref == "" {
		t.Fatal("the population has no name-only 3001 or 1000 row")
	}
	// The second batch: GB18030 bytes as Excel saves them, the rare
	// character written as GBK's user-defined code AAA1 (U+E000).
	surname := string([]rune(match.Name)[:1])
	enc := simplifiedchinese.GB18030.NewEncoder()
	head, err := enc.String("ref,shape,name,id_number,客户编号\r\n" +
		nonexistent.Ref + ",name," + nonexistent.Name + "," + nonexistent.IDNumber + ",C-1\r\n" +
		match.Ref + ",name," + match.Name + "," + match.IDNumber + ",C-2\r\n" +
		"gbk-rare,name," + surname)
	if err != nil {
		t.Fatal(err)
	}
	manifest := append([]byte(head), 0xAA, 0xA1)
	manifest = append(manifest, []byte(","+match.IDNumber+",C-3\r\n")...)
	src := h.ref("manifests/nightly-2.csv")
	if err := h.objs.Put(h.ctx, src, manifest, "text/csv"); err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(h.ctx, h.st, h.objs.Open, src, ingest.SubmitOptions{Name: "nightly-2", Logger: h.log,
		CheckRef: h.objs.CheckRef})
	if err != nil {
		t.Fatal(err)
	}
	second := sum.BatchID
	if sum.Inserted != 3 {
		t.Fatalf("second batch: %+v; want 3 rows stored", sum)
	}
	var outputs []string
	ops := func(code int, stdin string, args ...string) string {
		t.Helper()
		r := runOps(t, bin, env, stdin, args...)
		r.want(t, code)
		outputs = append(outputs, r.stdout+r.stderr)
		return r.stdout
	}
	// Before the night: the second batch paused, cancelled and resumed.
	b2 := strconv.FormatInt(second, 10)
	if out := ops(0, "", "ops", "pause", "-batch", b2, "-reason", "hold until 22:00"); !strings.Contains(out, "2 pending or queued records held") {
		t.Errorf("ops pause:\n%s", out)
	}
	if r := runOps(t, bin, env, "", "ops", "pause", "-batch", b2); r.code != 1 || !strings.Contains(r.stderr, "batch "+b2+" is paused; nothing changed") {
		t.Errorf("pausing a paused batch: exit %d: %s", r.code, r.stderr)
	}
	if out := ops(0, "", "ops", "batches", "-state", "paused"); !strings.Contains(out, "held 2") || !strings.Contains(out, "nightly-2") {
		t.Errorf("ops batches -state paused:\n%s", out)
	}
	ops(2, "", "ops", "cancel", "-batch", b2)
	if out := ops(0, "", "ops", "cancel", "-batch", b2, "-reason", "wrong file?"); !strings.Contains(out, "2 records not sent") {
		t.Errorf("ops cancel:\n%s", out)
	}
	if out := ops(0, "", "ops", "batches", "-state", "cancelled"); !strings.Contains(out, "failed 2") {
		t.Errorf("ops batches -state cancelled:\n%s", out)
	}
	if out := ops(0, "", "ops", "resume", "-batch", b2); !strings.Contains(out, "2 records back to pending") {
		t.Errorf("ops resume:\n%s", out)
	}
	if rows, err := h.st.ListAudit(h.ctx, "", 10); err != nil || len(rows) < 3 || rows[0].Command != "batch-resume" ||
		rows[2].Command != "batch-pause" || rows[2].Reason != "hold until 22:00" || rows[2].Operator != "night-shift" {
		t.Errorf("audit of pause, cancel, resume: %+v %v", rows, err)
	}
	h.startWorkers(workerOpts{n: 1})
	h.wait(first, 3*time.Minute)
	h.wait(second, time.Minute)

	// What ran last night?
	out := ops(0, "", "ops", "batches", "-since", "1h")
	for _, b := range []int64{first, second} {
		line := regexp.MustCompile(`(?m)^` + strconv.FormatInt(b, 10) + ` +finished +\S+ \S+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
		if !line.MatchString(out) {
			t.Errorf("ops batches lists batch %d without its finish:\n%s", b, out)
		}
	}
	if !strings.Contains(out, "nightly-2") || !strings.Contains(out, "review 2") {
		t.Errorf("ops batches lacks the second batch's name or its review count:\n%s", out)
	}
	if out := ops(0, "", "ops", "batches", "-state", "open"); !strings.Contains(out, "no batches") {
		t.Errorf("ops batches -state open:\n%s", out)
	}
	ops(2, "", "ops", "batches", "-state", "done")

	// A customer asks about a ref: it is in both batches.
	out = ops(0, "", "ops", "find", "-ref", nonexistent.Ref)
	for _, want := range []string{fmt.Sprintf("batch %d ", first), fmt.Sprintf("batch %d ", second), "verdict 3001 nonexistent",
		"status review"} {
		if !strings.Contains(out, want) {
			t.Errorf("ops find -ref lacks %q:\n%s", want, out)
		}
	}
	// … and about a person, by id number typed on standard input.
	out = ops(0, match.IDNumber+"\n", "ops", "find", "-id-stdin")
	if n := strings.Count(out, "record "); n != 3 || !strings.Contains(out, "code name.private_use") {
		t.Errorf("ops find -id-stdin: %d records; want the match row of each batch and the rare-character row:\n%s", n, out)
	}

	// The review queue: the 3001 case of each batch and the rare character.
	cases3001 := 1 // the second batch's
	for _, r := range h.pop.Rows {
		if r.Expect.Code == 3001 {
			cases3001++
		}
	}
	out = ops(0, "", "ops", "review")
	for _, want := range []string{fmt.Sprintf("%d records in review", cases3001+1), "id not in the authority's data",
		"gbk-rare"} {
		if !strings.Contains(out, want) {
			t.Errorf("ops review lacks %q:\n%s", want, out)
		}
	}
	for _, why := range []string{fmt.Sprintf(`3001 +%d `, cases3001), `name\.private_use +1 `} {
		if !regexp.MustCompile(`(?m)^ +` + why).MatchString(out) {
			t.Errorf("ops review does not count %q:\n%s", why, out)
		}
	}
	// Deciding by a ref in review in two batches needs -batch.
	ops(2, "", "ops", "review", "-decide", "approve", "-ref", nonexistent.Ref, "-reason", "passport seen")
	out = ops(0, "", "ops", "review", "-decide", "approve", "-ref", nonexistent.Ref, "-batch", strconv.FormatInt(first, 10),
		"-reason", "passport seen at the branch")
	if !strings.Contains(out, "→ review_approved") {
		t.Errorf("approve:\n%s", out)
	}
	out = ops(0, "", "ops", "find", "-ref", nonexistent.Ref)
	if !strings.Contains(out, "status review_approved") || !strings.Contains(out, "review: approve by night-shift (database user postgres)") {
		t.Errorf("ops find after the decision:\n%s", out)
	}
	if out := ops(0, "", "ops", "status", "-batch", strconv.FormatInt(first, 10)); !strings.Contains(out, "review_approved 1") ||
		!strings.Contains(out, "review decisions: approve 1") {
		t.Errorf("ops status lacks the decision:\n%s", out)
	}
	// The rare character: re-verified with the name as the authority stores it.
	billed := h.sim.Ledger().TotalBilled
	refs := filepath.Join(t.TempDir(), "refs.txt")
	writeFile(t, refs, "# rare characters\ngbk-rare\n")
	out = ops(0, "", "ops", "review", "-decide", "reverify", "-refs-file", refs, "-name", match.Name,
		"-reason", "authority stores the standard character")
	if !strings.Contains(out, "re-verification: 1 paid IVS call(s) queued") {
		t.Errorf("reverify:\n%s", out)
	}
	h.wait(second, time.Minute)
	found, err := h.st.FindByRef(h.ctx, "gbk-rare", 10)
	if err != nil || len(found) != 1 {
		t.Fatalf("find gbk-rare: %v %v", found, err)
	}
	if r := found[0]; r.Status != pipeline.StatusDone || r.Code == nil || *r.Code != 1000 || r.Generation != 2 {
		t.Errorf("re-verified record: %s %v generation %d; want done 1000 at generation 2", r.Status, r.Code, r.Generation)
	}
	if got := h.sim.Ledger().TotalBilled - billed; got != 1 {
		t.Errorf("the re-verification billed %d calls; want 1", got)
	}
	if out := ops(0, "", "ops", "review", "-batch", strconv.FormatInt(second, 10)); !strings.Contains(out, "1 records in review") {
		t.Errorf("second batch's queue after the decisions:\n%s", out)
	}
	audit, err := h.st.ListAudit(h.ctx, "review-decision", 10)
	if err != nil || len(audit) != 2 || audit[0].Operator != "night-shift" {
		t.Errorf("audit rows of the decisions: %+v %v", audit, err)
	}
	// The exports the business opens on Chinese Windows, in Shanghai time:
	// the first batch as CSV (language and zone from the locale), decoded as
	// Excel on a GBK locale decodes it, with the approval; the second as
	// .xlsx, read by excelize, with the customer's column and the
	// re-verification.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csvPath, xlsxPath := filepath.Join(dir, "nightly-1.csv"), filepath.Join(dir, "nightly-2.xlsx")
	zhEnv := append(slices.Clone(env), "LANG=zh_CN.UTF-8", "LC_ALL=", "LC_MESSAGES=", "TZ=Asia/Shanghai")
	if r := runOps(t, bin, zhEnv, "", "ops", "export", "-batch", strconv.FormatInt(first, 10), "-o", csvPath); r.code != 0 {
		t.Fatalf("ops export: exit %d: %s", r.code, r.stderr)
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	text, err := excelDecode(raw)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	approved := exportRow(t, rows, "业务编号", nonexistent.Ref)
	rec, err := h.st.FindByRef(h.ctx, nonexistent.Ref, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec {
		if r.BatchID == first && r.FinishedAt != nil {
			if got, want := approved["完成时间 (Asia/Shanghai)"], r.FinishedAt.In(shanghai).Format(time.DateTime); got != want {
				t.Errorf("CSV finished time %q, want %q (Shanghai)", got, want)
			}
		}
	}
	for k, v := range map[string]string{"状态": "人工审核通过", "核验码": "3001", "人工审核结论": "通过",
		"审核理由": "passport seen at the branch", "审核人": "night-shift (postgres)"} {
		if approved[k] != v {
			t.Errorf("CSV export, the approved case: %s = %q, want %q (row %v)", k, approved[k], v, approved)
		}
	}
	ops(0, "", "ops", "export", "-batch", b2, "-o", xlsxPath, "-lang", "zh-CN", "-tz", "Asia/Shanghai")
	x, err := excelize.OpenFile(xlsxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	xrows, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	rare := exportRow(t, xrows, "业务编号", "gbk-rare")
	if rare["客户编号"] != "C-3" || rare["人工审核结论"] != "重新核验" || rare["状态"] != "已完成" || rare["核验码"] != "1000" ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(rare["完成时间 (Asia/Shanghai)"]) {
		t.Errorf("xlsx export, the re-verified case: %v", rare)
	}
	if c1 := exportRow(t, xrows, "业务编号", nonexistent.Ref); c1["客户编号"] != "C-1" || c1["状态"] != "待人工审核" {
		t.Errorf("xlsx export, the undecided case: %v", c1)
	}
	outputs = append(outputs, text)
	all := strings.Join(outputs, "\n")
	for _, p := range h.pop.People() {
		if strings.Contains(all, p.IDNumber) || strings.Contains(all, p.Name) {
			t.Errorf("person %d: personal data in clear in ops output", p.Index)
		}
	}
	if t.Failed() {
		t.Logf("ops output:\n%s", all)
	}
}

// excelDecode decodes a CSV as Excel and WPS on Chinese Windows do: UTF-8
// after a byte order mark, else the ANSI code page (936, GBK).
func excelDecode(b []byte) (string, error) {
	if rest, ok := bytes.CutPrefix(b, []byte{0xEF, 0xBB, 0xBF}); ok {
		return string(rest), nil
	}
	return simplifiedchinese.GBK.NewDecoder().String(string(b))
}

// exportRow returns the row of an export whose refColumn is ref, by header.
func exportRow(t *testing.T, rows [][]string, refColumn, ref string) map[string]string {
	t.Helper()
	if len(rows) < 2 {
		t.Fatalf("export of %d rows", len(rows))
	}
	col := slices.Index(rows[0], refColumn)
	for _, r := range rows[1:] {
		if col >= 0 && col < len(r) && r[col] == ref {
			m := map[string]string{}
			for i, h := range rows[0] {
				if i < len(r) {
					m[h] = r[i]
				}
			}
			return m
		}
	}
	t.Fatalf("no row %s in the export (header %q)", ref, rows[0])
	return nil
}

// runOps runs a built command with stdin (runCmd without input).
func runOps(t *testing.T, bin string, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, args[0]), args[1:]...)
	cmd.Env, cmd.Dir = env, t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%q: %v", args, err)
	}
	return result{args: args, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
