package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

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
