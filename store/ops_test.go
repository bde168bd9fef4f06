package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// opsBatch stores a batch of n pending name-shape records and returns its id.
func opsBatch(t *testing.T, st *store.Store, n int) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "ops", Source: "ops.csv", ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var in []store.NewRecord
	for i := range n {
		in = append(in, store.NewRecord{Input: pipeline.Input{Ref: fmt.Sprintf("r%d", i), Line: i + 2, Shape: ivs.ShapeName,
			Name: "张伟", IDNumber: "11010119900307803X"}})
	}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// finishAs claims the next pending record and finishes it with status and
// code (a verdict when status is done).
func finishAs(t *testing.T, st *store.Store, status pipeline.Status, code string) *pipeline.Record {
	t.Helper()
	ctx := context.Background()
	refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	rec, err := st.Claim(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if status == pipeline.StatusInFlight {
		return rec
	}
	o := pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: status, ErrorCode: code, CountAttempt: true}
	if status == pipeline.StatusDone {
		vc := 1000
		o.Verdict = pipeline.Verdict{Result: "valid", Code: &vc, Message: "ok"}
	}
	if err := st.Finish(ctx, o); err != nil {
		t.Fatal(err)
	}
	rec, err = st.GetRecord(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRequeueSelectsAndGuardsVerdicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := opsBatch(t, st, 6)
	f1 := finishAs(t, st, pipeline.StatusFailed, "IVS.0101")
	f2 := finishAs(t, st, pipeline.StatusFailed, "IVS.0101")
	f3 := finishAs(t, st, pipeline.StatusFailed, "IVS.0005")
	done := finishAs(t, st, pipeline.StatusDone, "")
	busy := finishAs(t, st, pipeline.StatusInFlight, "")
	// one record stays pending

	if _, err := st.Requeue(ctx, store.RequeueFilter{}, store.RequeueOptions{}, nil); !errors.Is(err, store.ErrEmptyFilter) {
		t.Fatalf("empty filter: %v", err)
	}
	audit := &store.AuditEntry{Operator: "t", Command: "requeue"}
	dry, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch, Codes: []string{"IVS.0101"}}, store.RequeueOptions{DryRun: true}, audit)
	if err != nil || dry.Requeued != 2 || dry.Selected != 2 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if r, _ := st.GetRecord(ctx, f1.ID); r.Status != pipeline.StatusFailed || r.Generation != 1 {
		t.Fatalf("dry run changed record: %s g%d", r.Status, r.Generation)
	}
	res, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch, Codes: []string{"IVS.0101"}}, store.RequeueOptions{}, audit)
	if err != nil || res.Requeued != 2 || res.ByCode["IVS.0101"] != 2 {
		t.Fatalf("requeue: %+v %v", res, err)
	}
	for _, id := range []int64{f1.ID, f2.ID} {
		r, _ := st.GetRecord(ctx, id)
		if r.Status != pipeline.StatusPending || r.Generation != 2 || r.Attempts != 0 || r.LastErrorCode != "" || r.FinishedAt != nil {
			t.Errorf("record %d after requeue: %s g%d attempts %d code %q", id, r.Status, r.Generation, r.Attempts, r.LastErrorCode)
		}
	}
	if r, _ := st.GetRecord(ctx, f3.ID); r.Status != pipeline.StatusFailed {
		t.Errorf("record with another code was re-queued")
	}
	// Every record of the batch: the open ones are skipped, the verdict too.
	all, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch}, store.RequeueOptions{}, audit)
	if err != nil || all.Requeued != 1 || all.SkippedVerdict != 1 || all.SkippedOpen != 4 {
		t.Fatalf("requeue all: %+v %v", all, err)
	}
	if r, _ := st.GetRecord(ctx, busy.ID); r.Status != pipeline.StatusInFlight || r.Generation != 1 {
		t.Errorf("in-flight record changed: %s g%d", r.Status, r.Generation)
	}
	if _, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{done.ID}}, store.RequeueOptions{Force: true}, audit); err == nil {
		t.Error("force without reason accepted")
	}
	forced, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{done.ID}}, store.RequeueOptions{Force: true, Reason: "dispute"}, audit)
	if err != nil || forced.Requeued != 1 || len(forced.ForcedIDs) != 1 {
		t.Fatalf("forced: %+v %v", forced, err)
	}
	r, _ := st.GetRecord(ctx, done.ID)
	if r.Status != pipeline.StatusPending || r.Code != nil || r.Result != "" || !r.Reverify || r.Generation != 2 {
		t.Errorf("forced record: %s code %v result %q reverify %v g%d", r.Status, r.Code, r.Result, r.Reverify, r.Generation)
	}
	rows, err := st.ListAudit(ctx, "requeue", 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("audit rows: %d %v; want 3 (not the dry run)", len(rows), err)
	}
	if rows[0].Reason != "dispute" || rows[0].Result["forced_reverification_ids"] == nil {
		t.Errorf("forced requeue audit: %+v", rows[0])
	}
}

// Concurrent reservations stop at exactly the cap; released slots are
// reusable; an attempt completed as not billed gives its slot back, a billed
// one keeps it; a claim after a crash frees reserved slots; and
// RecomputeBudgets finds and corrects drift.
func TestBudgetReserveIsExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := opsBatch(t, st, 1)
	rec := finishAs(t, st, pipeline.StatusInFlight, "")
	if _, err := st.SetBudget(ctx, batch, 7, &store.AuditEntry{Operator: "t", Command: "budget"}); err != nil {
		t.Fatal(err)
	}
	start := pipeline.AttemptStart{RecordID: rec.ID, BatchID: batch, Generation: 1, UUID: "u", Endpoint: ivs.EndpointExtention,
		StartedAt: time.Now()}
	var mu sync.Mutex
	var granted []int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				id, ok, err := st.Reserve(ctx, start)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					granted = append(granted, id)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(granted) != 7 {
		t.Fatalf("%d reservations granted with a cap of 7", len(granted))
	}
	for _, id := range granted[:2] {
		if err := st.Release(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	var more []int64
	for i, want := range []bool{true, true, false} {
		id, got, err := st.Reserve(ctx, start)
		if err != nil || got != want {
			t.Fatalf("reserve %d after releasing two: %v %v, want %v", i, got, err, want)
		}
		if got {
			more = append(more, id)
		}
	}
	// One call billed, one refused (not billed): the refused one's slot returns.
	for i, billed := range []bool{true, false} {
		id := more[i]
		if err := st.Send(ctx, id, time.Now()); err != nil {
			t.Fatal(err)
		}
		status := pipeline.StatusInFlight
		if err := st.Finish(ctx, pipeline.Outcome{RecordID: rec.ID, Generation: 1, AttemptID: id, Status: status,
			Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), Billed: billed}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Send(ctx, granted[0], time.Now()); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("send of a released reservation: %v, want ErrNotFound", err)
	}
	b, err := st.GetBudget(ctx, batch)
	if err != nil || b.Used != 6 || b.Billed != 1 {
		t.Fatalf("budget after one billed and one refused call: %+v %v; want 6 used (5 reserved + 1 billed)", b, err)
	}
	// A crash: the worker holding the five reservations is gone; the next
	// claim of the record deletes them and gives their slots back.
	if _, err := st.Claim(ctx, rec.Task()); err != nil {
		t.Fatal(err)
	}
	if b, _ := st.GetBudget(ctx, batch); b.Used != 1 {
		t.Fatalf("budget after the claim: %+v; want 1 (the billed call)", b)
	}
	if drift, err := st.RecomputeBudgets(ctx); err != nil || len(drift) != 0 {
		t.Fatalf("recompute with no drift: %+v %v", drift, err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE batches SET budget_used = 5 WHERE id = $1`, batch); err != nil {
		t.Fatal(err)
	}
	drift, err := st.RecomputeBudgets(ctx)
	if err != nil || len(drift) != 1 || drift[0] != (store.BudgetDrift{BatchID: batch, Stored: 5, Actual: 1}) {
		t.Fatalf("recompute after drift: %+v %v", drift, err)
	}
	if b, _ := st.GetBudget(ctx, batch); b.Used != 1 {
		t.Fatalf("budget after recompute: %+v", b)
	}
	if _, err := st.SetBudget(ctx, 999999, 1, nil); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("unknown batch: %v", err)
	}
}

// An attempt left in flight past the lease is closed as possibly billed when
// its record is no longer in flight; otherwise it is left for the next claim.
func TestCloseStaleAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	opsBatch(t, st, 2)
	old := time.Now().Add(-time.Hour)
	gone := finishAs(t, st, pipeline.StatusInFlight, "")
	a1 := startAttempt(t, st, pipeline.AttemptStart{RecordID: gone.ID, BatchID: gone.BatchID, Generation: 1, UUID: "u1",
		Endpoint: ivs.EndpointExtention, StartedAt: old})
	// the record went on without the attempt (its outcome stored without it)
	if err := st.Finish(ctx, pipeline.Outcome{RecordID: gone.ID, Generation: 1, Status: pipeline.StatusFailed, ErrorCode: "x"}); err != nil {
		t.Fatal(err)
	}
	held := finishAs(t, st, pipeline.StatusInFlight, "")
	startAttempt(t, st, pipeline.AttemptStart{RecordID: held.ID, BatchID: held.BatchID, Generation: 1, UUID: "u2",
		Endpoint: ivs.EndpointExtention, StartedAt: old})
	got, err := st.CloseStaleAttempts(ctx, time.Now().Add(-10*time.Minute), false)
	if err != nil || len(got) != 2 {
		t.Fatalf("stale attempts: %+v %v", got, err)
	}
	if !got[0].Closed || got[0].ID != a1 || got[1].Closed {
		t.Errorf("closed flags: %+v", got)
	}
	n, err := st.PossiblyBilledSince(ctx, old)
	if err != nil || n != 1 {
		t.Errorf("possibly billed since: %d %v", n, err)
	}
	again, err := st.CloseStaleAttempts(ctx, time.Now().Add(-10*time.Minute), false)
	if err != nil || len(again) != 1 || again[0].Closed {
		t.Errorf("second pass: %+v %v; want only the held one, open", again, err)
	}
}

// startAttempt reserves an attempt and marks it in flight, as the processor
// does right before a call.
func startAttempt(t *testing.T, st *store.Store, a pipeline.AttemptStart) int64 {
	t.Helper()
	id, ok, err := st.Reserve(context.Background(), a)
	if err != nil || !ok {
		t.Fatalf("reserve: %v %v", ok, err)
	}
	if err := st.Send(context.Background(), id, a.StartedAt); err != nil {
		t.Fatal(err)
	}
	return id
}
