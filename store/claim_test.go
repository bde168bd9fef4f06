package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// A record's outcome is written once: a redelivered task's Finish changes
// nothing, and a crashed worker's open attempt is closed as abandoned,
// possibly billed, and counted.
func TestClaimFinishConditional(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := newBatch(t, st, nameInput("a"))
	refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, 10)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	ref := refs[0]
	rec, err := st.Claim(ctx, ref)
	if err != nil || rec.Status != pipeline.StatusInFlight || rec.Name != "张伟" {
		t.Fatalf("claim: %+v %v", rec, err)
	}
	// A worker starts a call. The same task, redelivered while the call
	// may still be on the wire, leaves the record alone and says how long
	// to wait.
	started := time.Now()
	startAttempt(t, st, pipeline.AttemptStart{RecordID: rec.ID, BatchID: batch, Generation: 1, UUID: ref.UUID(),
		Endpoint: ivs.EndpointExtention, StartedAt: started})
	var cif *pipeline.CallInFlight
	if _, err := st.Claim(ctx, ref); !errors.As(err, &cif) || !errors.Is(err, pipeline.ErrCallInFlight) {
		t.Fatalf("claim while a call is in flight: %v; want ErrCallInFlight", err)
	}
	if grace := store.DefaultCallGrace; cif.Wait > grace || cif.Wait < grace-10*time.Second {
		t.Fatalf("wait %s; want about the call grace %s", cif.Wait, grace)
	}
	if atts, _ := st.ListAttempts(ctx, batch); len(atts) != 1 || atts[0].State != "in_flight" {
		t.Fatalf("the refused claim changed the attempt: %+v", atts)
	}
	// The worker died: once its call is older than the grace, the next
	// claim closes it.
	if _, err := st.Pool().Exec(ctx, `UPDATE attempts SET started_at = $2 WHERE record_id = $1`, rec.ID,
		started.Add(-store.DefaultCallGrace)); err != nil {
		t.Fatal(err)
	}
	rec, err = st.Claim(ctx, ref) // redelivery after the lease expired
	if err != nil || rec.Attempts != 1 {
		t.Fatalf("reclaim: attempts %d, %v; want the abandoned call counted", rec.Attempts, err)
	}
	atts, _ := st.ListAttempts(ctx, batch)
	if len(atts) != 1 || atts[0].State != "abandoned" || !atts[0].PossiblyBilled {
		t.Fatalf("abandoned attempt: %+v", atts)
	}
	id := startAttempt(t, st, pipeline.AttemptStart{RecordID: rec.ID, BatchID: batch, Generation: 1, UUID: ref.UUID(),
		Endpoint: ivs.EndpointExtention, StartedAt: time.Now()})
	code := 1000
	done := pipeline.Outcome{RecordID: rec.ID, Generation: 1, AttemptID: id, Status: pipeline.StatusDone, CountAttempt: true,
		Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), HTTPStatus: 200, Code: "1000", Billed: true},
		Verdict: pipeline.Verdict{Result: "valid", Code: &code, IDCardResult: &ivs.IDCardResult{Name: "张伟", Number: "11010119900307803X", Address: "北京"}}}
	if err := st.Finish(ctx, done); err != nil {
		t.Fatal(err)
	}
	failed := done
	failed.Status, failed.Verdict, failed.AttemptID = pipeline.StatusFailed, pipeline.Verdict{}, 0
	if err := st.Finish(ctx, failed); !errors.Is(err, pipeline.ErrTerminal) {
		t.Fatalf("second Finish: %v, want ErrTerminal", err)
	}
	if _, err := st.Claim(ctx, ref); !errors.Is(err, pipeline.ErrTerminal) {
		t.Fatalf("claim of a done record: %v", err)
	}
	got, err := st.GetRecord(ctx, rec.ID)
	if err != nil || got.Status != pipeline.StatusDone || got.Attempts != 2 || got.IDCardResult.Address != "北京" {
		t.Fatalf("stored: %+v %v", got, err)
	}
	if _, err := st.Claim(ctx, pipeline.TaskRef{RecordID: rec.ID, Generation: 7}); !errors.Is(err, pipeline.ErrTerminal) {
		t.Fatalf("claim with another generation of a final record: %v", err)
	}
}
