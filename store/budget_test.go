package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

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
