package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// The queue's Redis loses everything mid-batch (FLUSHALL): reconcile puts
// back the tasks of records Postgres still has queued, every record ends with
// its outcome, and no uuid is billed twice.
func TestOpsReconcileAfterRedisFlush(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Latency: ivssim.Latency{Fixed: 30 * time.Millisecond}})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, handlers: 1}) // slow enough that most records wait in the queue
	h.waitBilled(5)
	// Mid-batch: the workers stop (records in flight finish or go back to
	// the queue), Redis loses everything, and only Postgres knows what is
	// still queued.
	h.stopWorkers()
	rdb := redis.NewClient(&redis.Options{Addr: h.redis})
	defer rdb.Close()
	if err := rdb.FlushAll(h.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	counts, err := h.st.BatchCounts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flushed Redis with records %v", counts.ByStatus)
	lost := counts.ByStatus[pipeline.StatusQueued] + counts.ByStatus[pipeline.StatusInFlight]
	if lost == 0 {
		t.Fatalf("nothing queued at the flush (%v); the scenario tests nothing", counts.ByStatus)
	}
	// No worker runs: reconcile (as the nightly job or an operator would run
	// it) repairs the queue, through the feeders' own recovery path.
	time.Sleep(300 * time.Millisecond)
	sum, err := ops.Reconcile(h.ctx, h.st, rdb, ops.ReconcileOptions{LostAfter: 200 * time.Millisecond,
		Lease: 20 * time.Second, Operator: "e2e"})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	runs := 1
	if got := sum.Lost.Lost; got != lost {
		t.Errorf("reconcile re-enqueued %d tasks; %d records were queued in Postgres when Redis lost them", got, lost)
	}
	h.startWorkers(workerOpts{n: 2})
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	// A clean run afterwards: nothing to repair, nothing needs a human.
	sum, err = ops.Reconcile(h.ctx, h.st, rdb, ops.ReconcileOptions{LostAfter: time.Millisecond, Lease: 20 * time.Second,
		Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Lost.Lost != 0 || sum.NeedsHuman {
		t.Errorf("reconcile after the batch: %+v; want nothing repaired and no human needed", sum)
	}
	if rows, err := h.st.ListAudit(h.ctx, "reconcile", 100); err != nil || len(rows) != runs+1 {
		t.Errorf("audit log has %d reconcile rows (err %v), want %d", len(rows), err, runs+1)
	}
}

// An outage (every call answered 500 IVS.0101) fails the sendable records
// after their attempts; once IVS is back, requeue -code IVS.0101 gets every
// one its verdict. A dry run changes nothing; records with a verdict are not
// re-queued without -force -reason, and a forced one is audited.
func TestOpsRequeueAfterOutage(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Faults: ivssim.Faults{Rate500: 1}})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, policy: func(p *pipeline.Policy) { p.MaxAttempts = 2 }})
	h.wait(batch, time.Minute)
	sendable := len(h.pop.Rows) - 1
	byCode := failedByCode(t, h, batch)
	if byCode["IVS.0101"] != sendable {
		t.Fatalf("after the outage: failed by code %v; want %d IVS.0101", byCode, sendable)
	}
	h.sim.SetFaults(ivssim.Faults{})

	filter := store.RequeueFilter{BatchID: batch, Codes: []string{"IVS.0101"}}
	dry, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: filter, DryRun: true, Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Requeued != sendable || len(dry.Sample) == 0 {
		t.Errorf("dry run: %+v; want %d to re-queue", dry, sendable)
	}
	if got := failedByCode(t, h, batch)["IVS.0101"]; got != sendable {
		t.Fatalf("dry run changed records: %d failed IVS.0101 left, want %d", got, sendable)
	}
	if rows, _ := h.st.ListAudit(h.ctx, "requeue", 10); len(rows) != 0 {
		t.Errorf("dry run wrote %d audit rows", len(rows))
	}

	res, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: filter, Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != sendable {
		t.Fatalf("requeue: %+v; want %d re-queued", res, sendable)
	}
	h.wait(batch, 2*time.Minute)
	recs := h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	for _, r := range recs {
		if r.Status == pipeline.StatusDone && r.Generation != 2 {
			t.Errorf("%s: generation %d after one requeue, want 2", r.Ref, r.Generation)
		}
	}

	// Verdicts stay unless forced, with a reason.
	again, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: store.RequeueFilter{BatchID: batch,
		Statuses: []pipeline.Status{pipeline.StatusDone, pipeline.StatusReview}}, Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Requeued != 0 || again.SkippedVerdict != sendable {
		t.Errorf("requeue of verdicts without force: %+v; want none re-queued, %d skipped", again, sendable)
	}
	var target *pipeline.Record
	for _, r := range recs {
		if r.Status == pipeline.StatusDone {
			target = r
			break
		}
	}
	if _, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: store.RequeueFilter{IDs: []int64{target.ID}},
		Force: true, Operator: "e2e"}); err == nil {
		t.Error("forced requeue without a reason was accepted")
	}
	forced, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: store.RequeueFilter{IDs: []int64{target.ID}},
		Force: true, Reason: "e2e: customer disputes the verdict", Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Requeued != 1 || len(forced.ForcedIDs) != 1 || forced.ForcedIDs[0] != target.ID {
		t.Fatalf("forced requeue: %+v", forced)
	}
	audit, err := h.st.ListAudit(h.ctx, "requeue", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 3 || audit[0].Reason == "" || audit[0].Result["forced_reverification_ids"] == nil {
		t.Errorf("audit log: %+v; want 3 requeue rows, the last with the reason and the forced ids", audit)
	}
	h.wait(batch, time.Minute)
	r, err := h.st.GetRecord(h.ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != pipeline.StatusDone || r.Generation != 3 || !r.Reverify || r.Code == nil {
		t.Errorf("forced record: status %s generation %d reverify %v code %v; want done, 3, true, a verdict",
			r.Status, r.Generation, r.Reverify, deref(r.Code))
	}
	h.checkBilling(batch, 10)
	if got := h.sim.Ledger().BilledByUUID[r.Task().UUID()]; got != 1 {
		t.Errorf("forced re-verification billed %d times, want 1", got)
	}
}

// A budget of 7 billed calls stops a batch of ~30 sendable records at
// exactly 7 with two workers; the rest end failed budget.exhausted and finish
// after the budget is raised and they are re-queued.
func TestOpsBudgetStopsAtLimit(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	batch := h.submit()
	if _, err := ops.SetBudget(h.ctx, h.st, batch, 7, "e2e"); err != nil {
		t.Fatal(err)
	}
	h.startWorkers(workerOpts{n: 2}) // every processor reserves a budget slot per call
	h.wait(batch, 2*time.Minute)
	sendable := len(h.pop.Rows) - 1
	if got := h.sim.Ledger().TotalBilled; got != 7 {
		t.Fatalf("billed %d calls with a budget of 7", got)
	}
	if got := failedByCode(t, h, batch)[pipeline.ErrorBudgetExhausted]; got != sendable-7 {
		t.Errorf("%d records failed %s, want %d", got, pipeline.ErrorBudgetExhausted, sendable-7)
	}
	b, err := h.st.GetBudget(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if b.Used != 7 || b.Billed != 7 {
		t.Errorf("budget after the stop: %+v; want 7 used, 7 billed", b)
	}
	// Each of the two workers says so once, not once per record.
	if n := strings.Count(h.logBuf.String(), `msg="budget reached`); n < 1 || n > 2 {
		t.Errorf("\"budget reached\" logged %d times, want once per worker", n)
	}

	if _, err := ops.SetBudget(h.ctx, h.st, batch, 100, "e2e"); err != nil {
		t.Fatal(err)
	}
	res, err := ops.Requeue(h.ctx, h.st, ops.RequeueOptions{Filter: store.RequeueFilter{BatchID: batch,
		Codes: []string{pipeline.ErrorBudgetExhausted}}, Operator: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != sendable-7 {
		t.Fatalf("requeue budget.exhausted: %+v", res)
	}
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	if got := h.sim.Ledger().TotalBilled; got != sendable {
		t.Errorf("billed %d calls in all, want %d", got, sendable)
	}
	if rows, _ := h.st.ListAudit(h.ctx, "budget", 10); len(rows) != 2 {
		t.Errorf("%d budget audit rows, want 2", len(rows))
	}
}

// A finished batch (with some 500s on the way) exported as CSV carries one
// row per record and no full name or id number; its HTML report draws data in
// all four charts and renders in headless Chromium to a real PNG.
func TestOpsExportAndReportScreenshot(t *testing.T) {
	chromium := findChromium(t)
	h := newHarness(t, ivssim.Config{Quota: 10, Faults: ivssim.Faults{Rate500: 0.2}, Seed: 5})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, policy: func(p *pipeline.Policy) { p.MaxAttempts = 12 }})
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)

	// CSV
	var buf bytes.Buffer
	n, err := ops.ExportAudited(h.ctx, h.st, batch, &buf, ops.ExportOptions{}, "batch.csv", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	body, ok := bytes.CutPrefix(buf.Bytes(), []byte("\uFEFF"))
	if !ok {
		t.Error("the CSV export does not start with a UTF-8 byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	if want := len(h.pop.Rows) + 1; n != want || len(rows) != want+1 {
		t.Errorf("export: %d records, %d CSV rows; want %d records plus a header", n, len(rows), want)
	}
	for i, c := range ops.ExportColumns {
		if i >= len(rows[0]) || rows[0][i] != c && !strings.HasPrefix(rows[0][i], c+" (") { // finished_at (zone)
			t.Errorf("export header %v, want it to start with %v", rows[0], ops.ExportColumns)
			break
		}
	}
	text := buf.String()
	masked := 0
	for _, r := range h.pop.Rows {
		if r.IDNumber != "" && strings.Contains(text, r.IDNumber) {
			t.Errorf("%s: full id number in the export", r.Ref)
		}
		if len([]rune(r.Name)) > 1 && strings.Contains(text, r.Name) {
			t.Errorf("%s: full name in the export", r.Ref)
		}
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	nameCol, idCol := col["name_masked"], col["id_number_masked"]
	for _, row := range rows[1:] {
		if row[idCol] != "" {
			masked++
			if !strings.Contains(row[idCol], "*") || !strings.Contains(row[nameCol], "*") {
				t.Errorf("record %s: name %q / id %q not masked", row[0], row[nameCol], row[idCol])
			}
		}
	}
	if masked == 0 {
		t.Error("no record in the export has a masked id number")
	}

	// HTML report
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	f, err := os.Create(html)
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.ReportAudited(h.ctx, h.st, batch, f, ops.ReportOptions{Quota: 10}, html, "e2e"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ops.ChartVerdicts, ops.ChartSimilarity, ops.ChartErrors, ops.ChartCalls} {
		svg := chartSVG(string(page), id)
		if svg == "" {
			t.Errorf("report has no chart %s", id)
			continue
		}
		if n := strings.Count(svg, `<rect class="bar"`); n == 0 {
			t.Errorf("chart %s draws no data", id)
		}
	}
	if !strings.Contains(chartSVG(string(page), ops.ChartCalls), `class="quota"`) {
		t.Error("calls chart has no quota line")
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(string(page), `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("report is not self-contained: has %q", bad)
		}
	}
	for _, r := range h.pop.Rows {
		if (r.IDNumber != "" && strings.Contains(string(page), r.IDNumber)) || (len([]rune(r.Name)) > 1 && strings.Contains(string(page), r.Name)) {
			t.Errorf("%s: personal data in the report", r.Ref)
		}
	}

	// Screenshot
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(h.ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1280,2000", "file://"+html)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", chromium, err, out)
	}
	st, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if st.Size() < 10<<10 {
		t.Errorf("screenshot is %d bytes; want a real page (> 10 KB)", st.Size())
	}
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	cfg, err := png.DecodeConfig(pf)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != 1280 || cfg.Height != 2000 {
		t.Errorf("screenshot is %d×%d, want 1280×2000", cfg.Width, cfg.Height)
	}
	if rows, _ := h.st.ListAudit(h.ctx, "", 10); len(rows) != 3 || rows[0].Command != "report" || rows[1].Command != "export" ||
		rows[2].Command != "submit" {
		t.Errorf("audit log: %+v; want submit, export, then report", rows)
	}
	if dst := os.Getenv("IVSBATCH_REPORT_SCREENSHOT"); dst != "" { // keep it for a look
		b, _ := os.ReadFile(shot)
		_ = os.WriteFile(dst, b, 0o644)
	}
}

// findChromium looks for chromium or chromium-browser on PATH; a missing
// browser fails the test (scripts/deps.sh installs it).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("neither chromium nor chromium-browser is on PATH; run scripts/deps.sh (apt-get install chromium)")
	return ""
}

// chartSVG returns the <svg> element with id in page, or "".
func chartSVG(page, id string) string {
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], "</svg>")
	if j < 0 {
		return ""
	}
	return page[i : i+j]
}

func failedByCode(t *testing.T, h *harness, batch int64) map[string]int {
	t.Helper()
	recs, err := h.st.ListRecords(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range recs {
		if r.Status == pipeline.StatusFailed {
			out[r.LastErrorCode]++
		}
	}
	return out
}
