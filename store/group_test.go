package store_test

import (
	"context"
	"errors"
	"testing"

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
