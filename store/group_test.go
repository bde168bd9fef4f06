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

// A group of claims is one statement; two tasks of one record in a group
// (a redelivery) do not both get it, and a task of another generation gets
// nothing (claimSQL then explains why).
func TestGroupedClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "claims", ManifestSHA256: "claims"})
	if err != nil {
		t.Fatal(err)
	}
	in := func(ref string) store.NewRecord {
		return store.NewRecord{Input: pipeline.Input{Ref: ref, Line: 2, Shape: ivs.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}}
	}
	if _, err := st.InsertInputs(ctx, b.ID, []store.NewRecord{in("a"), in("b"), in("c")}); err != nil {
		t.Fatal(err)
	}
	refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, 3)
	if err != nil || len(refs) != 3 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	stale := refs[2]
	stale.Generation++
	claimed, err := st.ClaimGroup(ctx, []pipeline.TaskRef{refs[0], refs[0], refs[1], stale})
	if err != nil {
		t.Fatal(err)
	}
	got := func(i int) *pipeline.Record { return claimed[i] }
	switch {
	case got(0) == nil || got(0).ID != refs[0].RecordID || got(0).Name != "张伟" || got(0).Status != pipeline.StatusInFlight:
		t.Fatalf("first task: %+v", got(0))
	case got(1) != nil:
		t.Fatalf("the redelivered task got the record too")
	case got(2) == nil || got(2).ID != refs[1].RecordID:
		t.Fatalf("second record: %+v", got(2))
	case got(3) != nil:
		t.Fatalf("a task of another generation got its record: %+v", got(3))
	}
	if _, err := st.Claim(ctx, stale); !errors.Is(err, pipeline.ErrStaleGeneration) {
		t.Fatalf("claim of another generation: %v; want ErrStaleGeneration", err)
	}
	if r, _ := st.GetRecord(ctx, refs[2].RecordID); r.Status != pipeline.StatusQueued {
		t.Fatalf("record of the stale task is %s; want queued", r.Status)
	}
}

// Concurrent tasks' writes share group commits (group.go), yet each keeps
// its own result: a stale task's outcome is refused while the others in its
// group are stored, and a Send for an attempt taken back says so.
func TestGroupedWritesKeepTheirOwnResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	const n = 120
	inputs := make([]store.NewRecord, n)
	for i := range inputs {
		inputs[i] = nameInput(fmt.Sprintf("r%d", i))
	}
	batch := newBatch(t, st, inputs...)
	refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, n)
	if err != nil || len(refs) != n {
		t.Fatalf("claim pending: %d %v", len(refs), err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = func() error {
				rec, err := st.Claim(ctx, ref)
				if err != nil {
					return err
				}
				id, ok, err := st.Reserve(ctx, pipeline.AttemptStart{RecordID: rec.ID, BatchID: batch, Generation: 1,
					UUID: ref.UUID(), Endpoint: ivs.EndpointExtention, StartedAt: time.Now()})
				if err != nil || !ok {
					return fmt.Errorf("reserve: %v %w", ok, err)
				}
				if i%7 == 3 { // taken back before the call: the Send must say so
					if err := st.Release(ctx, id); err != nil {
						return err
					}
					return st.Send(ctx, id, time.Now())
				}
				if err := st.Send(ctx, id, time.Now()); err != nil {
					return err
				}
				gen := 1
				if i%10 == 0 { // a stale task
					gen = 2
				}
				code := 1000
				return st.Finish(ctx, pipeline.Outcome{RecordID: rec.ID, Generation: gen, AttemptID: id,
					Status: pipeline.StatusDone, CountAttempt: true,
					Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), HTTPStatus: 200, Code: "1000", Billed: true},
					Verdict: pipeline.Verdict{Result: "valid", Code: &code}})
			}()
		}()
	}
	wg.Wait()
	for i, ref := range refs {
		rec, gerr := st.GetRecord(ctx, ref.RecordID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		switch {
		case i%7 == 3:
			if !errors.Is(errs[i], pipeline.ErrNotFound) || rec.Status != pipeline.StatusInFlight {
				t.Errorf("record %d: Send after release: %v, status %s; want ErrNotFound, in_flight", i, errs[i], rec.Status)
			}
		case i%10 == 0:
			if !errors.Is(errs[i], pipeline.ErrStaleGeneration) || rec.Status != pipeline.StatusInFlight {
				t.Errorf("record %d: stale Finish: %v, status %s; want ErrStaleGeneration, in_flight", i, errs[i], rec.Status)
			}
		default:
			if errs[i] != nil || rec.Status != pipeline.StatusDone || rec.Attempts != 1 {
				t.Errorf("record %d: %v, status %s, attempts %d; want done after 1", i, errs[i], rec.Status, rec.Attempts)
			}
		}
	}
	atts, err := st.ListAttempts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	finished := 0
	for _, a := range atts {
		if a.State == "finished" && a.Billed {
			finished++
		}
	}
	// Every sent attempt is finished and billed, the stale tasks' included
	// (their call was made); released ones are gone.
	want := 0
	for i := range n {
		if i%7 != 3 {
			want++
		}
	}
	if finished != want || len(atts) != want {
		t.Fatalf("attempts: %d finished and billed of %d; want %d", finished, len(atts), want)
	}
}
