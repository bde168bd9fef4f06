package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// batchByID lists every batch and returns batch id's summary.
func batchByID(t *testing.T, st *store.Store, id int64) store.BatchSummary {
	t.Helper()
	list, err := st.ListBatches(context.Background(), store.BatchFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("batch %d not listed", id)
	return store.BatchSummary{}
}

// A batch reads open while it has open records and finished once it has
// none; SettleBatches stores that with the time, a requeue opens it again;
// the filters select by state, name and time.
func TestListAndSettleBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	a := opsBatch(t, st, 2)
	finishAs(t, st, pipeline.StatusFailed, "IVS.0101")
	if b := batchByID(t, st, a); b.State != pipeline.BatchOpen || b.FinishedAt != nil || b.Counts.Total != 2 ||
		b.Counts.ByStatus[pipeline.StatusPending] != 1 {
		t.Fatalf("half done: %+v; want open, no finish time, 1 pending of 2", b)
	}
	finishAs(t, st, pipeline.StatusDone, "")
	if b := batchByID(t, st, a); b.State != pipeline.BatchFinished {
		t.Fatalf("all done: state %s; want finished before it is settled", b.State)
	}
	before := time.Now().Add(-time.Second)
	if n, err := st.SettleBatches(ctx); err != nil || n != 1 {
		t.Fatalf("settle: %d %v; want 1 batch", n, err)
	}
	b := batchByID(t, st, a)
	if b.State != pipeline.BatchFinished || b.FinishedAt == nil || b.FinishedAt.Before(before) {
		t.Fatalf("settled: %+v; want finished with a time", b)
	}
	if n, err := st.SettleBatches(ctx); err != nil || n != 0 {
		t.Fatalf("settle again: %d %v; want nothing", n, err)
	}
	for _, c := range []struct {
		f    store.BatchFilter
		want int
	}{
		{store.BatchFilter{State: pipeline.BatchFinished}, 1},
		{store.BatchFilter{State: pipeline.BatchOpen}, 0},
		{store.BatchFilter{Name: "OP"}, 1},
		{store.BatchFilter{Name: "nightly"}, 0},
		{store.BatchFilter{Since: before}, 1},
		{store.BatchFilter{Since: time.Now().Add(time.Hour)}, 0},
	} {
		if list, err := st.ListBatches(ctx, c.f); err != nil || len(list) != c.want {
			t.Errorf("list %+v: %d batches (%v); want %d", c.f, len(list), err, c.want)
		}
	}
	if _, err := st.Requeue(ctx, store.RequeueFilter{BatchID: a, Codes: []string{"IVS.0101"}}, store.RequeueOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if b := batchByID(t, st, a); b.State != pipeline.BatchOpen || b.FinishedAt != nil {
		t.Fatalf("after a requeue: %+v; want open again", b)
	}
	if list, _ := st.ListBatches(ctx, store.BatchFilter{State: pipeline.BatchFinished}); len(list) != 0 {
		t.Errorf("a requeued batch still listed as finished")
	}
}

// A paused batch's pending and queued records are held at a new generation
// (not claimed; queued tasks drop as stale); resume lets
// the feeder claim them. A cancelled batch's open records end failed
// batch.cancelled; resume re-opens them. Every change is audited; a
// change its state does not allow is refused.
func TestPauseResumeCancelBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	held := opsBatch(t, st, 4)
	refs, err := st.ClaimPending(ctx, pipeline.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim: %v %v", refs, err)
	}
	queued := refs[0]
	b2, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "other", ManifestSHA256: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertInputs(ctx, b2.ID, []store.NewRecord{nameInput("o1")}); err != nil {
		t.Fatal(err)
	}
	c, err := st.PauseBatch(ctx, held, store.AuditEntry{Operator: "ana", Command: "pause", Reason: "customer asked"})
	if err != nil || c.From != pipeline.BatchOpen || c.To != pipeline.BatchPaused || c.Records != 4 {
		t.Fatalf("pause: %+v %v; want open → paused, its 4 pending and queued records held", c, err)
	}
	if _, err := st.Claim(ctx, queued); !errors.Is(err, pipeline.ErrStaleGeneration) {
		t.Errorf("the paused batch's queued task claims its record: %v; want a stale generation", err)
	}
	refs, err = st.ClaimPending(ctx, pipeline.EndpointExtention, 100)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim while paused: %v %v; want the other batch's record only", refs, err)
	}
	if rec, _ := st.GetRecord(ctx, refs[0].RecordID); rec.BatchID != b2.ID {
		t.Errorf("claimed record %d of batch %d while batch %d is paused", rec.ID, rec.BatchID, held)
	}
	if b := batchByID(t, st, held); b.State != pipeline.BatchPaused || b.Counts.ByStatus[pipeline.StatusHeld] != 4 {
		t.Errorf("paused batch listed as %+v", b)
	}
	if _, err := st.PauseBatch(ctx, held, store.AuditEntry{Command: "pause"}); !errors.Is(err, store.ErrBatchState) {
		t.Errorf("pausing a paused batch: %v; want ErrBatchState", err)
	}
	// A record requeued while its batch is paused waits held too.
	failed, err := st.Claim(ctx, refs[0]) // the other batch's record, queued above
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, pipeline.Outcome{RecordID: failed.ID, Generation: failed.Generation,
		Status: pipeline.StatusFailed, ErrorCode: "IVS.0101", CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PauseBatch(ctx, b2.ID, store.AuditEntry{Command: "pause"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{failed.ID}}, store.RequeueOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.GetRecord(ctx, failed.ID); rec.Status != pipeline.StatusHeld {
		t.Errorf("requeued into a paused batch: %s; want held", rec.Status)
	}
	if _, err := st.ResumeBatch(ctx, b2.ID, store.AuditEntry{Command: "resume"}); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.GetRecord(ctx, failed.ID); rec.Status != pipeline.StatusPending {
		t.Errorf("after resume: %s; want pending", rec.Status)
	}
	if refs, _ := st.ClaimPending(ctx, pipeline.EndpointExtention, 100); len(refs) != 1 || refs[0].RecordID != failed.ID {
		t.Errorf("claimed %v after resuming the other batch; want its requeued record", refs)
	}
	if _, err := st.ResumeBatch(ctx, held, store.AuditEntry{Operator: "ana", Command: "resume"}); err != nil {
		t.Fatal(err)
	}
	if refs, err = st.ClaimPending(ctx, pipeline.EndpointExtention, 2); err != nil || len(refs) != 2 {
		t.Fatalf("claim after resume: %v %v; want 2", refs, err)
	}
	c, err = st.CancelBatch(ctx, held, store.AuditEntry{Operator: "ana", Command: "cancel", Reason: "wrong file"})
	if err != nil || c.Records != 4 {
		t.Fatalf("cancel: %+v %v; want its 4 pending and queued records cancelled", c, err)
	}
	b := batchByID(t, st, held)
	if b.State != pipeline.BatchCancelled || b.FinishedAt == nil || b.Counts.ByStatus[pipeline.StatusFailed] != 4 {
		t.Errorf("cancelled batch listed as %+v", b)
	}
	if refs, _ := st.ClaimPending(ctx, pipeline.EndpointExtention, 100); len(refs) != 0 {
		t.Errorf("claimed %v of a cancelled batch", refs)
	}
	if _, err := st.PauseBatch(ctx, held, store.AuditEntry{Command: "pause"}); !errors.Is(err, store.ErrBatchState) {
		t.Errorf("pausing a cancelled batch: %v; want ErrBatchState", err)
	}
	c, err = st.ResumeBatch(ctx, held, store.AuditEntry{Operator: "ana", Command: "resume"})
	if err != nil || c.From != pipeline.BatchCancelled || c.Records != 4 {
		t.Fatalf("resume a cancelled batch: %+v %v; want its 4 records re-opened", c, err)
	}
	if refs, _ := st.ClaimPending(ctx, pipeline.EndpointExtention, 100); len(refs) != 4 {
		t.Errorf("claimed %d after resuming the cancelled batch; want 4", len(refs))
	}
	if _, err := st.ResumeBatch(ctx, 999999, store.AuditEntry{Command: "resume"}); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("resume an unknown batch: %v", err)
	}
	audit, err := st.ListAudit(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range audit {
		if r.BatchID == held {
			got = append(got, fmt.Sprintf("%s %s→%s %v", r.Command, r.Result["from"], r.Result["to"], r.Result["records"]))
		}
	}
	want := []string{"resume cancelled→open 4", "cancel open→cancelled 4", "resume paused→open 4", "pause open→paused 4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit rows %q; want %q", got, want)
	}
}

// reviewRecord claims the next pending record and finishes it in review
// with IVS's 3001 (nonexistent).
func reviewRecord(t *testing.T, st *store.Store) *pipeline.Record {
	t.Helper()
	ctx := context.Background()
	refs, err := st.ClaimPending(ctx, pipeline.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	rec, err := st.Claim(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	vc := 3001
	if err := st.Finish(ctx, pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: pipeline.StatusReview,
		CountAttempt: true, Verdict: pipeline.Verdict{Result: "nonexistent", Code: &vc, Message: "not found"}}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// The review queue lists cases with why they are there; a decision is
// recorded (who, when, why, session_user), moves an approved or rejected
// record to its final status with IVS's verdict kept, and a re-verification
// with a corrected name sends it back pending, marked reverify, the new
// name sealed. Records not in review are left alone.
func TestReviewDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := opsBatch(t, st, 4)
	r1, r2, r3 := reviewRecord(t, st), reviewRecord(t, st), reviewRecord(t, st)
	cases, why, err := st.ListReview(ctx, store.ReviewFilter{BatchID: batch})
	if err != nil || len(cases) != 3 || why["3001"] != 3 {
		t.Fatalf("review queue: %d cases by %v (%v); want 3 of 3001", len(cases), why, err)
	}
	if all, _, _ := st.ListReview(ctx, store.ReviewFilter{}); len(all) != 3 {
		t.Errorf("review queue of every batch: %d cases", len(all))
	}
	if none, _, _ := st.ListReview(ctx, store.ReviewFilter{BatchID: batch + 1}); len(none) != 0 {
		t.Errorf("another batch's review queue: %d cases", len(none))
	}
	if _, err := st.Decide(ctx, []int64{r1.ID}, store.Decision{Decision: pipeline.DecideApprove}); err == nil {
		t.Error("a decision without a reason was taken")
	}
	pending, err := st.FindByRef(ctx, "r3", 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("find r3: %v %v", pending, err)
	}
	res, err := st.Decide(ctx, []int64{r1.ID, pending[0].ID}, store.Decision{Decision: pipeline.DecideApprove,
		Reason: "passport seen at the branch", Operator: "ana"})
	if err != nil || len(res.Decided) != 1 || len(res.NotInCase) != 1 || res.NotInCase[0] != pending[0].ID {
		t.Fatalf("approve: %+v %v; want r1 decided, the pending record left alone", res, err)
	}
	if _, err := st.Decide(ctx, []int64{r2.ID}, store.Decision{Decision: pipeline.DecideReject, Reason: "no such person",
		Operator: "ana"}); err != nil {
		t.Fatal(err)
	}
	res, err = st.Decide(ctx, []int64{r3.ID}, store.Decision{Decision: pipeline.DecideReverify, Reason: "rare character",
		Operator: "bo", CorrectedName: "张䶮"})
	if err != nil || res.Reverified != 1 {
		t.Fatalf("re-verify: %+v %v", res, err)
	}
	got1, _ := st.GetRecord(ctx, r1.ID)
	got2, _ := st.GetRecord(ctx, r2.ID)
	got3, _ := st.GetRecord(ctx, r3.ID)
	if got1.Status != pipeline.StatusReviewApproved || got1.Code == nil || *got1.Code != 3001 || got1.Result != "nonexistent" {
		t.Errorf("approved: %s %v %s; want review_approved with IVS's 3001 nonexistent kept", got1.Status, got1.Code, got1.Result)
	}
	if got2.Status != pipeline.StatusReviewRejected || got2.FinishedAt == nil {
		t.Errorf("rejected: %s; want review_rejected, finished", got2.Status)
	}
	if got3.Status != pipeline.StatusPending || !got3.Reverify || got3.Generation != r3.Generation+1 || got3.Name != "张䶮" ||
		got3.Code != nil {
		t.Errorf("re-verify: %s reverify=%v gen %d→%d code %v; want pending, reverify, next generation, no verdict",
			got3.Status, got3.Reverify, r3.Generation, got3.Generation, got3.Code)
	}
	var sealed string
	_ = st.Pool().QueryRow(ctx, `SELECT name_enc FROM records WHERE id = $1`, r3.ID).Scan(&sealed)
	if sealed == "" || sealed == "张䶮" {
		t.Errorf("corrected name stored as %q; want it sealed", sealed)
	}
	decisions, err := st.LatestDecisions(ctx, []int64{r1.ID, r2.ID, r3.ID})
	if err != nil || len(decisions) != 3 {
		t.Fatalf("decisions: %v %v", decisions, err)
	}
	if d := decisions[r1.ID]; d.Decision != pipeline.DecideApprove || d.Operator != "ana" || d.DBUser == "" ||
		d.WhyCode != "3001" || d.Reason != "passport seen at the branch" || time.Since(d.DecidedAt) > time.Minute {
		t.Errorf("approval recorded as %+v", d)
	}
	if d := decisions[r3.ID]; !d.NameCorrected || d.Operator != "bo" {
		t.Errorf("re-verification recorded as %+v", d)
	}
	counts, err := st.BatchDecisionCounts(ctx, batch)
	if err != nil || counts[pipeline.DecideApprove] != 1 || counts[pipeline.DecideReject] != 1 || counts[pipeline.DecideReverify] != 1 {
		t.Errorf("decision counts %v %v", counts, err)
	}
	if left, _, _ := st.ListReview(ctx, store.ReviewFilter{BatchID: batch}); len(left) != 0 {
		t.Errorf("%d cases left in review", len(left))
	}
	audit, _ := st.ListAudit(ctx, "review-decision", 10)
	if len(audit) != 3 || audit[0].Reason != "rare character" || audit[0].Result["paid_reverifications"] != float64(1) {
		t.Errorf("review audit rows: %+v", audit)
	}
	// A decided record has a verdict for requeue: only -force re-verifies it.
	rq, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{r1.ID}}, store.RequeueOptions{}, nil)
	if err != nil || rq.Requeued != 0 || rq.SkippedVerdict != 1 {
		t.Errorf("requeue of an approved record: %+v %v; want it skipped as having a verdict", rq, err)
	}
}

// Records are found by ref and by id number (through the blind index)
// across batches, newest first.
func TestFindRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	a := opsBatch(t, st, 2)
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "b", ManifestSHA256: "b"})
	if err != nil {
		t.Fatal(err)
	}
	other := nameInput("r1")
	other.IDNumber = "110101199003071234"
	if _, err := st.InsertInputs(ctx, b.ID, []store.NewRecord{other}); err != nil {
		t.Fatal(err)
	}
	found, err := st.FindByRef(ctx, "r1", 10)
	if err != nil || len(found) != 2 || found[0].BatchID != b.ID || found[1].BatchID != a {
		t.Fatalf("find r1: %d records (%v); want batch %d's then %d's", len(found), err, b.ID, a)
	}
	if found, _ := st.FindByRef(ctx, "nope", 10); len(found) != 0 {
		t.Errorf("found %d records for an unknown ref", len(found))
	}
	found, err = st.FindByIDNumber(ctx, "11010119900307803X", 10)
	if err != nil || len(found) != 2 || found[0].BatchID != a {
		t.Fatalf("find by id number: %d (%v); want batch %d's two records", len(found), err, a)
	}
	if found, _ := st.FindByIDNumber(ctx, "110101199003071234", 1); len(found) != 1 || found[0].BatchID != b.ID {
		t.Errorf("find the other id number: %v", found)
	}
}
