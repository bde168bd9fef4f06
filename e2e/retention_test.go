package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/worker"
)

// offsetClock is the wall clock moved forward by a test.
type offsetClock struct{ d atomic.Int64 }

// Now is the moved clock's time.
func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.d.Load())) }

// jump moves the clock to d ahead of the wall clock.
func (c *offsetClock) jump(d time.Duration) { c.d.Store(int64(d)) }

func (c *offsetClock) String() string { return time.Duration(c.d.Load()).String() }

// keptPictures lists the picture store: the liveness pictures' objects in
// the S3 server's backend directory.
func keptPictures(t *testing.T, h *harness) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(h.s3.Root, bucket, "liveness"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), worker.PictureSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// pick returns the first population row of shape with verdict code.
func pick(t *testing.T, h *harness, shape pipeline.Shape, code int) e2e.Row {
	t.Helper()
	for _, r := range h.pop.Rows {
		if r.Shape == shape && r.Expect.Code == code {
			return r
		}
	}
	t.Fatalf("the population has no %s row answered %d", shape, code)
	return e2e.Row{}
}

// recordsRows returns the rows of records in a pg_dump, by id, as column →
// value.
func recordsRows(t *testing.T, h *harness) map[int64]map[string]string {
	t.Helper()
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatal("pg_dump not found (scripts/deps.sh installs postgresql-client)")
	}
	out, err := exec.CommandContext(h.ctx, pgDump, "--no-owner", "--table=records", "--dbname="+h.dbURL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	var cols []string
	rows := map[int64]map[string]string{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "COPY public.records ("); ok {
			cols = strings.Split(strings.TrimSuffix(rest, ") FROM stdin;"), ", ")
			continue
		}
		if cols == nil || line == `\.` {
			cols = nil
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(cols) {
			t.Fatalf("pg_dump row of %d fields for %d columns", len(f), len(cols))
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = f[i]
		}
		id, _ := strconv.ParseInt(row["id"], 10, 64)
		rows[id] = row
	}
	if len(rows) == 0 {
		t.Fatal("no records in the pg_dump: the check would prove nothing")
	}
	return rows
}

// personalColumns are the columns of records that hold personal data.
var personalColumns = []string{"name_enc", "id_number_enc", "idcard_image1", "idcard_image2", "face_image", "video",
	"metadata_enc", "id_hmac", "input_hmac", "input_digest", "idcard_result", "picture_ref", "last_error_message"}

// Two batches verify the same person (a face video whose liveness picture
// is kept in S3, then the same inputs again, answered by reuse) beside a
// card verification with OCR; a third batch stays open. The purge runs from
// its schedule on a clock the test moves: past the pictures' retention the
// kept pictures are gone from the store; past the inputs' they are gone from
// a pg_dump of the purged records with their OCR and messages, while export
// and report still show every verdict, as purged; the open record keeps its
// inputs throughout; past the verdicts' retention the records go.
func TestRetentionPurgeFromSchedule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ivssim.Config{Quota: 20})
	video := pick(t, h, pipeline.ShapeNameVideo, 1000)
	card := pick(t, h, pipeline.ShapeCardFaceImage, 1000)
	h.startWorkers(workerOpts{n: 1, pictures: picturesPrefix})
	v1, c1 := video, card
	v1.Ref, c1.Ref = "v1", "c1"
	b1 := h.submitRows([]e2e.Row{v1, c1}, "b1.csv")
	h.wait(b1, 3*time.Minute)
	v2 := video
	v2.Ref = "v2"
	b2 := h.submitRows([]e2e.Row{v2}, "b2.csv")
	h.wait(b2, 3*time.Minute)
	if pics := keptPictures(t, h); len(pics) != 1 {
		t.Fatalf("kept pictures %v; want the video verdict's one", pics)
	}
	h.stopWorkers()
	open := video
	open.Ref = "still-open"
	b3 := h.submitRows([]e2e.Row{open}, "b3.csv")

	clock := &offsetClock{}
	objs := worker.PictureBucket{Store: h.objs, Prefix: picturesPrefix}
	sched, err := ops.ParsePurgeCron("* * * * * *") // every second
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	go ops.PurgeScheduler(sched, h.st, "test", ops.PurgeOptions{Pictures: objs, Now: clock.Now, Log: h.log}).Loop(ctx)

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("after a minute at clock +%s: %s", clock, what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	lastRun := func() int64 {
		r, _, err := h.st.LatestPurge(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	// A scheduled run with nothing due changes nothing.
	waitFor("a scheduled purge run", func() bool { return lastRun() > 0 })
	if pics := keptPictures(t, h); len(pics) != 1 {
		t.Fatalf("a purge before any retention passed deleted pictures: %v", pics)
	}
	clock.jump(8 * retention.Day)
	waitFor("the kept picture deleted", func() bool { return len(keptPictures(t, h)) == 0 })
	clock.jump(31 * retention.Day)
	waitFor("the inputs purged", func() bool {
		n, _, err := h.st.PurgedCounts(h.ctx, b1)
		return err == nil && n == 2
	})
	first := lastRun()
	waitFor("a run after the inputs' purge", func() bool { return lastRun() > first })

	dump := recordsRows(t, h)
	for id, row := range dump {
		isOpen := row["batch_id"] == strconv.FormatInt(b3, 10)
		for _, c := range personalColumns {
			empty := row[c] == "" || row[c] == `\N`
			if !isOpen && !empty {
				t.Errorf("pg_dump: purged record %d still holds %s", id, c)
			}
		}
		if isOpen && (row["name_enc"] == "" || row["video"] == "" || row["status"] != "pending") {
			t.Errorf("pg_dump: the open record %d was touched: status %s", id, row["status"])
		}
		if !isOpen && (row["verification_code"] != "1000" || row["purged_at"] == `\N`) {
			t.Errorf("pg_dump: purged record %d: code %s, purged_at %s; want its verdict and when it was purged",
				id, row["verification_code"], row["purged_at"])
		}
	}
	var export, html bytes.Buffer
	if _, err := ops.ExportAs(h.ctx, h.st, b1, &export, ops.ExportOptions{Raw: true, NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(export.String())).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("export of batch 1 after the purge (%v):\n%s", err, export.String())
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	for _, r := range rows[1:] {
		if r[col("verdict")] != "valid" || r[col("verification_code")] != "1000" || r[col("personal_data")] != "purged" {
			t.Errorf("export of batch 1 after the purge: %v; want its verdict, purged", r)
		}
	}
	if err := ops.Report(h.ctx, h.st, b2, &html, ops.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "1 purged of personal data") {
		t.Error("the report of batch 2 does not show its purged record")
	}

	clock.jump(6 * 365 * retention.Day)
	waitFor("the verdicts deleted", func() bool {
		recs, err := h.st.ListRecords(h.ctx, b1)
		return err == nil && len(recs) == 0
	})
	recs, err := h.st.ListRecords(h.ctx, b3)
	if err != nil || len(recs) != 1 || recs[0].Status != pipeline.StatusPending || recs[0].Name == "" {
		t.Fatalf("the open record after six years of purges: %+v %v", recs, err)
	}
	audits, err := h.st.ListAudit(h.ctx, "purge", 1)
	if err != nil || len(audits) != 1 || !strings.HasPrefix(audits[0].Operator, "schedule:") {
		t.Fatalf("purge audit rows %+v %v; want the schedule's", audits, err)
	}
}

// ops erase, run as its help says (id numbers on standard input), erases
// one person across two batches: the kept picture is gone from S3, an audit
// row holds the reason, and a later record with the same inputs is sent to
// IVS and billed, not answered from the erased verdict.
func TestOpsErasePerson(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ivssim.Config{Quota: 20})
	p := newProcesses(t, h) // keys the ops binary gets from the environment
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/ops")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	video := pick(t, h, pipeline.ShapeNameVideo, 1000)
	face := pick(t, h, pipeline.ShapeNameFaceImage, 1000)
	face.Name, face.IDNumber = video.Name, video.IDNumber // the same person
	h.startWorkers(workerOpts{n: 1, pictures: picturesPrefix})
	v1 := video
	v1.Ref = "v1"
	b1 := h.submitRows([]e2e.Row{v1}, "b1.csv")
	h.wait(b1, 3*time.Minute)
	f2 := face
	f2.Ref = "f2"
	b2 := h.submitRows([]e2e.Row{f2}, "b2.csv")
	h.wait(b2, 3*time.Minute)
	if pics := keptPictures(t, h); len(pics) != 1 {
		t.Fatalf("kept pictures %v; want one", pics)
	}
	billed := h.sim.Ledger().TotalBilled

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(h.ctx, filepath.Join(bin, "ops"), "erase", "-reason", "request 2026-117", "-operator", "dpo")
	cmd.Env = append(p.env, "IVSBATCH_KEEP_PICTURES="+picturesPrefix)
	// as typed from a form: spaces and a lower-case x
	cmd.Stdin = strings.NewReader(strings.ToLower(video.IDNumber[:6]+" "+video.IDNumber[6:]) + "\n")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ops erase: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "found 2 records in 2 batches; erased 2; deleted 1 kept pictures") {
		t.Fatalf("ops erase printed:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), video.IDNumber[6:14]) {
		t.Error("ops erase printed the id number")
	}
	if pics := keptPictures(t, h); len(pics) != 0 {
		t.Fatalf("kept pictures after the erasure: %v", pics)
	}
	audits, err := h.st.ListAudit(h.ctx, "erase", 1)
	if err != nil || len(audits) != 1 || audits[0].Reason != "request 2026-117" || audits[0].Operator != "dpo" ||
		audits[0].Result["erased"] != float64(2) {
		t.Fatalf("erase audit rows %+v %v", audits, err)
	}
	for _, b := range []int64{b1, b2} {
		recs, err := h.st.ListRecords(h.ctx, b)
		if err != nil || len(recs) != 1 || recs[0].Name != "" || recs[0].ErasedAt == nil || recs[0].Code == nil {
			t.Fatalf("batch %d after the erasure: %+v %v; want a tombstone with its verdict", b, recs, err)
		}
	}
	// The same inputs again: sent and billed, not answered by reuse.
	again := video
	again.Ref = "v3"
	b3 := h.submitRows([]e2e.Row{again}, "b3.csv")
	h.wait(b3, 3*time.Minute)
	recs, err := h.st.ListRecords(h.ctx, b3)
	if err != nil || len(recs) != 1 || recs[0].LinkedRecordID != nil || recs[0].Code == nil || *recs[0].Code != 1000 {
		t.Fatalf("the same inputs after the erasure: %+v %v; want a fresh 1000, not linked", recs, err)
	}
	if got := h.sim.Ledger().TotalBilled; got != billed+1 {
		t.Fatalf("billed %d calls after the erasure; want %d (the new record paid)", got, billed+1)
	}
}
