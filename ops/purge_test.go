package ops_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
	"github.com/ivsbatch/ivsbatch/worker"
)

// person is a record's inputs for these tests.
func person(ref, id string) store.NewRecord {
	return store.NewRecord{Input: pipeline.Input{Ref: ref, Line: 2, Shape: pipeline.ShapeName, Name: "张伟",
		IDNumber: id, Metadata: `{"branch":"x"}`}}
}

// finished stores a batch of records and finishes all but the refs in open
// as done with a verdict, an OCR result, an error message and (when dir is
// set) a kept picture file under dir. It returns the batch and the ids by ref.
func finished(t *testing.T, st *store.Store, name, dir string, recs []store.NewRecord, open ...string) (int64, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: name, ManifestSHA256: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertInputs(ctx, b.ID, recs); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	rows, err := st.Pool().Query(ctx, `SELECT ref, id FROM records WHERE batch_id = $1`, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		var id int64
		if err := rows.Scan(&ref, &id); err != nil {
			t.Fatal(err)
		}
		ids[ref] = id
	}
	for ref, id := range ids {
		if strings.Contains(strings.Join(open, ","), ref) {
			if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'queued' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pic := ""
		if dir != "" {
			pic = "file://" + filepath.Join(dir, ref+".jpg")
			if err := os.WriteFile(filepath.Join(dir, ref+".jpg"), []byte("face"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'done', verdict = 'valid', verification_code = 1000,
			similarity = 0.9, idcard_result = '{"sex":"男"}', last_error_message = 'media at <face_image> was slow',
			picture_ref = nullif($2, ''), finished_at = now() WHERE id = $1`, id, pic); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Pool().Exec(ctx, `INSERT INTO attempts (record_id, batch_id, generation, uuid, endpoint, state, started_at, message)
			VALUES ($1, (SELECT batch_id FROM records WHERE id = $1), 1, 'u' || $1, 'e', 'finished', now(), 'said something')`, id); err != nil {
			t.Fatal(err)
		}
	}
	return b.ID, ids
}

// what says which kinds of data a record still holds.
type what struct {
	inputs, ocr, picture, errors, attempts, exists bool
}

func holds(t *testing.T, st *store.Store, id int64) what {
	t.Helper()
	var w what
	err := st.Pool().QueryRow(context.Background(), `SELECT name_enc <> '' AND id_number_enc <> '' AND metadata_enc <> '' AND id_hmac IS NOT NULL,
		idcard_result IS NOT NULL, picture_ref IS NOT NULL, last_error_message IS NOT NULL,
		EXISTS (SELECT 1 FROM attempts WHERE record_id = $1 AND message IS NOT NULL), true
		FROM records WHERE id = $1`, id).Scan(&w.inputs, &w.ocr, &w.picture, &w.errors, &w.attempts, &w.exists)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return w
}

// The purge removes each kind past its retention, counted on the injected
// clock, in chunks; a dry run counts the same and changes nothing; a record
// still open is never touched; kept pictures' files are deleted; the verdict
// stays until its own retention, then the record goes with its attempts.
func TestPurgeByRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	dir := t.TempDir()
	objs, err := objstore.New(ctx, objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pics := worker.PictureBucket{Store: objs, Prefix: "file://" + dir}
	recs := []store.NewRecord{person("a", "11010119900307803X"), person("b", "110101199003071234"),
		person("c", "11010119900307803X"), person("open", "11010119900307803X")}
	batch, ids := finished(t, st, "p", dir, recs, "open")
	now := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }

	// Nothing is due yet.
	sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(0), Chunk: 2})
	if err != nil || count(sum) != 0 {
		t.Fatalf("purge now: %+v %v; want nothing purged", sum, err)
	}
	// 8 days on: only pictures (7 d). The dry run says so and changes nothing.
	dry, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(8 * retention.Day), DryRun: true})
	if err != nil || kind(dry, retention.Pictures) != 3 || count(dry) != 3 {
		t.Fatalf("dry run at 8 days: %+v %v; want 3 pictures", dry, err)
	}
	if w := holds(t, st, ids["a"]); !w.picture {
		t.Fatal("the dry run removed a picture")
	}
	sum, err = ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(8 * retention.Day), Chunk: 2})
	if err != nil || kind(sum, retention.Pictures) != 3 || count(sum) != 3 || sum.RunID == 0 {
		t.Fatalf("purge at 8 days: %+v %v; want 3 pictures and a stored run", sum, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(left) != 0 {
		t.Fatalf("picture files left: %v", left)
	}
	if w := holds(t, st, ids["a"]); w.picture || !w.inputs || !w.ocr || !w.errors {
		t.Fatalf("after the pictures' purge record a holds %+v", w)
	}
	// 31 days on: errors, OCR and inputs; the verdict stays and shows as purged.
	sum, err = ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(31 * retention.Day), Chunk: 2})
	if err != nil || kind(sum, retention.Inputs) != 3 || kind(sum, retention.OCR) != 3 || kind(sum, retention.Messages) != 3 {
		t.Fatalf("purge at 31 days: %+v %v", sum, err)
	}
	for _, ref := range []string{"a", "b", "c"} {
		if w := holds(t, st, ids[ref]); w != (what{exists: true}) {
			t.Errorf("record %s after 31 days holds %+v; want only its verdict", ref, w)
		}
	}
	if w := holds(t, st, ids["open"]); !w.inputs {
		t.Errorf("the open record lost its inputs: %+v", w)
	}
	r, err := st.GetRecord(ctx, ids["a"])
	if err != nil || r.Code == nil || *r.Code != 1000 || r.Status != pipeline.StatusDone || r.Name != "" {
		t.Fatalf("purged record a: %+v %v; want its verdict without its name", r, err)
	}
	var purged int
	if err := st.Pool().QueryRow(ctx, `SELECT records_purged FROM batches WHERE id = $1`, batch).Scan(&purged); err != nil || purged != 3 {
		t.Fatalf("batch counts %d purged (%v); want 3", purged, err)
	}
	// Export and report still show the purged records, as purged, with their verdicts.
	var export, html bytes.Buffer
	if _, err := ops.Export(ctx, st, batch, &export); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(export.String(), ",valid,1000,"); n != 3 ||
		!maps.Equal(exportColumn(t, export.String(), "personal_data"), map[string]int{"purged": 3, "held": 1}) {
		t.Errorf("export after the purge:\n%s", export.String())
	}
	if err := ops.Report(ctx, st, batch, &html, ops.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "3 purged of personal data") {
		t.Error("the report does not say how many records were purged")
	}
	// A second run finds nothing left: it resumes after its marks.
	if sum, err = ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(31 * retention.Day)}); err != nil || count(sum) != 0 {
		t.Fatalf("second purge: %+v %v; want nothing", sum, err)
	}
	// Six years on: the verdicts go, with their attempts; the open record stays.
	sum, err = ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(6 * 365 * retention.Day)})
	if err != nil || kind(sum, retention.Verdicts) != 3 {
		t.Fatalf("purge at six years: %+v %v; want 3 verdicts", sum, err)
	}
	if w := holds(t, st, ids["a"]); w.exists {
		t.Error("record a outlived its verdict's retention")
	}
	if w := holds(t, st, ids["open"]); !w.exists || !w.inputs {
		t.Errorf("the open record was touched: %+v", w)
	}
	audits, err := st.ListAudit(ctx, "purge", 10)
	if err != nil || len(audits) != 5 {
		t.Fatalf("audit rows %d (%v); want one per real run (5)", len(audits), err)
	}
	var out bytes.Buffer
	ops.PrintPurge(&out, sum)
	if !strings.Contains(out.String(), "verdicts") || !strings.Contains(out.String(), "purged 3 records") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// A kept picture that cannot be deleted (no picture store configured) stops
// the purge before its record changes: nothing outlives its retention
// silently, and the run is stored as incomplete.
func TestPurgeStopsOnAPictureItCannotDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	_, ids := finished(t, st, "q", t.TempDir(), []store.NewRecord{person("a", "11010119900307803X")})
	sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Now: func() time.Time { return time.Now().Add(8 * retention.Day) }})
	if err == nil || sum.Complete || !strings.Contains(err.Error(), "IVSBATCH_KEEP_PICTURES") {
		t.Fatalf("purge without a picture store: %+v %v; want an incomplete run naming IVSBATCH_KEEP_PICTURES", sum, err)
	}
	if w := holds(t, st, ids["a"]); !w.picture {
		t.Fatal("the picture reference went without its object")
	}
	run, ok, err := st.LatestPurge(ctx)
	if err != nil || !ok || run.Complete {
		t.Fatalf("latest purge run %+v %v %v; want an incomplete one stored", run, ok, err)
	}
}

// A purged record cannot be re-queued: nothing is left to send.
func TestRequeueSkipsPurged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch, _ := finished(t, st, "r", "", []store.NewRecord{person("a", "11010119900307803X")})
	if _, err := ops.Purge(ctx, st, ops.PurgeOptions{Now: func() time.Time { return time.Now().Add(31 * retention.Day) }}); err != nil {
		t.Fatal(err)
	}
	res, err := ops.Requeue(ctx, st, ops.RequeueOptions{Filter: store.RequeueFilter{BatchID: batch}, Force: true, Reason: "ticket 4711: customer disputes the verdict"})
	if err != nil || res.Requeued != 0 || res.SkippedPurged != 1 {
		t.Fatalf("requeue of a purged record: %+v %v; want it skipped as purged", res, err)
	}
}

func kind(s ops.PurgeSummary, k retention.Kind) int {
	for _, pk := range s.Kinds {
		if pk.Kind == k {
			return pk.Records
		}
	}
	return -1
}

func count(s ops.PurgeSummary) int {
	n := 0
	for _, pk := range s.Kinds {
		n += pk.Records
	}
	return n
}

// The register counts verified records and people by shape, face data held
// (kept pictures, face inputs not purged) and says when the purge ran.
func TestPrivacyRegister(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	dir := t.TempDir()
	face := person("f", "11010119900307803X")
	face.Shape = pipeline.ShapeNameFaceImage
	finished(t, st, "reg", dir, []store.NewRecord{person("a", "11010119900307803X"), person("b", "110101199003071234"), face})
	now := time.Now()
	r, err := ops.Privacy(ctx, st, retention.Default(), now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r.Counts.Records[pipeline.ShapeName] != 2 || r.Counts.People[pipeline.ShapeName] != 2 ||
		r.Counts.Records[pipeline.ShapeNameFaceImage] != 1 || r.Counts.FacePeople != 2 || r.Counts.FaceRecords != 3 || r.Purged {
		t.Fatalf("register: %+v", r)
	}
	var out bytes.Buffer
	r.Write(&out)
	for _, want := range []string{"face data held now: 2 people (3 records)", "of the 100000-person filing threshold", "purge: never ran",
		"retention in force: pictures=7d errors=30d ocr=30d inputs=30d verdicts=1825d"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("register lacks %q:\n%s", want, out.String())
		}
	}
}

// Two purges never run at once: the second is refused while the first holds
// the lock, and runs once it is released.
func TestPurgeRunsOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	release, err := st.LockPurge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Purge(ctx, st, ops.PurgeOptions{}); !errors.Is(err, store.ErrPurgeRunning) {
		t.Fatalf("a purge while another runs: %v; want ErrPurgeRunning", err)
	}
	if _, err := ops.Purge(ctx, st, ops.PurgeOptions{DryRun: true}); err != nil {
		t.Fatalf("a dry run while a purge runs: %v", err)
	}
	release()
	if _, err := ops.Purge(ctx, st, ops.PurgeOptions{}); err != nil {
		t.Fatalf("a purge after the other ended: %v", err)
	}
}

// The worker's role runs the whole purge, verdicts included (through
// ivsbatch_delete_verdicts: it may not DELETE records itself), and the
// operator's erases; the reader reads the register.
func TestPurgeUnderTheRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	roles := storetest.MakeRoles(t, url)
	admin := storetest.OpenURL(t, url)
	batch, ids := finished(t, admin, "roles", "", []store.NewRecord{person("a", "11010119900307803X"), person("b", "110101199003071234")})
	worker := storetest.OpenURL(t, roles.URL[store.RoleWorker], store.WithKeyring(admin.Keyring()))
	if _, err := worker.Pool().Exec(ctx, `DELETE FROM records WHERE id = $1`, ids["a"]); err == nil {
		t.Fatal("the worker deleted a record directly")
	}
	operator := storetest.OpenURL(t, roles.URL[store.RoleOperator], store.WithKeyring(admin.Keyring()))
	req, err := ops.ReadErasureRequest(strings.NewReader(fmt.Sprintf("ref:%d:b\n", batch)))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ops.Erase(ctx, operator, operator.Keyring(), ops.EraseOptions{Request: req, Reason: "request 1"}); err != nil || res.Erased != 1 {
		t.Fatalf("erase as the operator: %+v %v", res, err)
	}
	sum, err := ops.Purge(ctx, worker, ops.PurgeOptions{Now: func() time.Time { return time.Now().Add(6 * 365 * retention.Day) }})
	if err != nil || kind(sum, retention.Verdicts) != 2 || kind(sum, retention.Inputs) != 1 {
		t.Fatalf("purge as the worker: %+v %v", sum, err)
	}
	reader := storetest.OpenURL(t, roles.URL[store.RoleReader], store.WithKeyring(admin.Keyring()))
	r, err := ops.Privacy(ctx, reader, retention.Default(), time.Now().Add(-time.Hour), time.Now())
	if err != nil || !r.Purged {
		t.Fatalf("the register as the reader: %+v %v", r, err)
	}
}

// exportColumn counts the values of column name in a CSV export.
func exportColumn(t *testing.T, export, name string) map[string]int {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(export, "\uFEFF"))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("export: %v\n%s", err, export)
	}
	col := slices.Index(rows[0], name)
	if col < 0 {
		t.Fatalf("export has no column %s: %v", name, rows[0])
	}
	out := map[string]int{}
	for _, r := range rows[1:] {
		out[r[col]]++
	}
	return out
}

// Review cases (migration 00013): a record waiting for a reviewer keeps its
// data, whatever its age, until the decision, from which its retention
// counts; a decided record's verdict goes with its decision rows; an erased
// record cannot be sent again by a re-verification.
func TestPurgeReviewAndCancelledRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	objs, err := objstore.New(ctx, objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pics := worker.PictureBucket{Store: objs, Prefix: "file://" + t.TempDir()}
	_, ids := finished(t, st, "review", "", []store.NewRecord{person("wait", "11010119900307803X"),
		person("ok", "110101199003071234"), person("erased", "11010119900307803X")})
	for _, ref := range []string{"wait", "ok", "erased"} {
		if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'review' WHERE id = $1`, ids[ref]); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	// A decision two months on: the approved record's retention starts then.
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET finished_at = finished_at - interval '60 days'`); err != nil {
		t.Fatal(err)
	}
	res, err := st.Decide(ctx, []int64{ids["ok"]}, store.Decision{Decision: pipeline.DecideApprove,
		Reason: "card checked by hand", Operator: "reviewer"})
	if err != nil || len(res.Decided) != 1 {
		t.Fatalf("approve: %+v %v", res, err)
	}
	if sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(0)}); err != nil || count(sum) != 0 {
		t.Fatalf("purge right after the decision: %+v %v; want nothing (the waiting case is kept)", sum, err)
	}
	if w := holds(t, st, ids["wait"]); !w.inputs || !w.ocr || !w.errors {
		t.Fatalf("a case waiting for its reviewer for 60 days lost data: %+v", w)
	}
	if sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(31 * retention.Day)}); err != nil ||
		kind(sum, retention.Inputs) != 1 {
		t.Fatalf("purge 31 days after the decision: %+v %v; want the approved record's inputs", sum, err)
	}
	if w := holds(t, st, ids["ok"]); w.inputs || w.ocr {
		t.Fatalf("the approved record still holds %+v", w)
	}
	if w := holds(t, st, ids["wait"]); !w.inputs {
		t.Fatalf("the waiting case lost its inputs: %+v", w)
	}
	// Erased while in review: approve or reject still work, a re-verification
	// has nothing to send.
	if _, err := st.Erase(ctx, []int64{ids["erased"]}, store.AuditEntry{Operator: "dpo", Command: "erase",
		Reason: "request 2026-118"}); err != nil {
		t.Fatal(err)
	}
	res, err = st.Decide(ctx, []int64{ids["erased"]}, store.Decision{Decision: pipeline.DecideReverify,
		Reason: "name corrected", Operator: "reviewer"})
	if err != nil || len(res.Decided) != 0 || !slices.Equal(res.NotInCase, []int64{ids["erased"]}) {
		t.Fatalf("re-verify of an erased record: %+v %v; want it left alone", res, err)
	}
	// Six years after the decision the verdict goes with its decision row.
	sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(6 * 365 * retention.Day)})
	if err != nil || kind(sum, retention.Verdicts) != 1 {
		t.Fatalf("purge at six years: %+v %v; want the approved record's verdict", sum, err)
	}
	var decisions int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM review_decisions WHERE record_id = $1`, ids["ok"]).
		Scan(&decisions); err != nil || decisions != 0 {
		t.Fatalf("%d decision rows of a deleted verdict (%v)", decisions, err)
	}
	if w := holds(t, st, ids["wait"]); !w.exists || !w.inputs {
		t.Fatalf("the waiting case after six years: %+v", w)
	}
}

// A cancelled batch's records end failed batch.cancelled; once purged they
// stay failed when the batch is resumed, the others go again.
func TestResumeLeavesPurgedRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	objs, err := objstore.New(ctx, objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pics := worker.PictureBucket{Store: objs, Prefix: "file://" + t.TempDir()}
	now := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	cancelled, cids := finished(t, st, "cancelled", "", []store.NewRecord{person("old", "11010119900307803X"),
		person("new", "110101199003071234")}, "old", "new")
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'pending' WHERE batch_id = $1`, cancelled); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelBatch(ctx, cancelled, store.AuditEntry{Operator: "op", Command: "batch-cancel", Reason: "wrong file"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET finished_at = finished_at - interval '40 days' WHERE id = $1`,
		cids["old"]); err != nil {
		t.Fatal(err)
	}
	if sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Pictures: pics, Now: at(0)}); err != nil || kind(sum, retention.Inputs) != 1 {
		t.Fatalf("purge of the cancelled batch: %+v %v; want its old record", sum, err)
	}
	if _, err := st.ResumeBatch(ctx, cancelled, store.AuditEntry{Operator: "op", Command: "batch-resume", Reason: "right file"}); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]pipeline.Status{"old": pipeline.StatusFailed, "new": pipeline.StatusPending} {
		r, err := st.GetRecord(ctx, cids[ref])
		if err != nil || r.Status != want {
			t.Errorf("record %s after the resumption: %v %v; want %s", ref, r.Status, err, want)
		}
	}
}
