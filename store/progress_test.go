package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

func TestProgressRateAndETA(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		p    store.Progress
		open int
		rate float64
		eta  time.Duration
	}{
		{"no call yet", store.Progress{At: at}, 100, 0, 0},
		{"calls, nothing finished", store.Progress{Since: at.Add(-10 * time.Second), At: at}, 100, 0, 0},
		{"a 6 s old batch", store.Progress{Since: at.Add(-6 * time.Second), Finished: 60, At: at}, 40, 10, 4 * time.Second},
		{"a minute of work", store.Progress{Since: at.Add(-time.Minute), Finished: 600, At: at}, 6000, 10, 10 * time.Minute},
		{"first millisecond", store.Progress{Since: at.Add(-time.Millisecond), Finished: 1, At: at}, 9, 1, 9 * time.Second},
		{"done", store.Progress{Since: at.Add(-6 * time.Second), Finished: 60, At: at}, 0, 10, 0},
	} {
		if r, eta := tc.p.Rate(), tc.p.ETA(tc.open); r != tc.rate || eta != tc.eta {
			t.Errorf("%s: rate %v ETA %v, want %v %v", tc.name, r, eta, tc.rate, tc.eta)
		}
	}
}

// A batch's rate counts only its own records finished since its first call
// of the last minute: rows refused at submit and a fresh batch give no ETA.
func TestBatchStatusProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	refused := nameInput("refused")
	refused.Status, refused.ErrorCode = pipeline.StatusRejected, "id.checksum"
	batch := newBatch(t, st, refused, nameInput("a"), nameInput("b"), nameInput("c"))
	bs, err := st.GetBatchStatus(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if bs.Rate() != 0 || bs.ETA() != 0 || bs.Progress.Finished != 0 {
		t.Fatalf("fresh batch with a refused row: rate %v ETA %v progress %+v; want no rate and no ETA", bs.Rate(), bs.ETA(), bs.Progress)
	}
	// Two records finished by calls that started 20 s ago (by the database's clock).
	var dbNow time.Time
	if err := st.Pool().QueryRow(ctx, "SELECT now()").Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, 1)
		if err != nil || len(refs) != 1 {
			t.Fatalf("claim pending: %v %v", refs, err)
		}
		rec, err := st.Claim(ctx, refs[0])
		if err != nil {
			t.Fatal(err)
		}
		id, ok, err := st.Reserve(ctx, pipeline.AttemptStart{RecordID: rec.ID, BatchID: rec.BatchID, Generation: rec.Generation, UUID: refs[0].UUID(),
			Endpoint: ivs.EndpointExtention, StartedAt: dbNow.Add(-20 * time.Second)})
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := st.Send(ctx, id, dbNow.Add(-20*time.Second)); err != nil {
			t.Fatal(err)
		}
		code := 1000
		if err := st.Finish(ctx, pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: id,
			Status: pipeline.StatusDone, CountAttempt: true, Verdict: pipeline.Verdict{Result: "valid", Code: &code},
			Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), HTTPStatus: 200, Code: "1000", Billed: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if bs, err = st.GetBatchStatus(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// 2 records over ≈ 20 s (plus however long this test took since dbNow),
	// not the 1 s the old last-minute count would give with the refused row.
	if p := bs.Progress; p.Finished != 2 || bs.Rate() > 0.1 || bs.Rate() < 0.05 {
		t.Errorf("progress %+v rate %v; want 2 finished at about 0.1/s", p, bs.Rate())
	}
	if eta := bs.ETA(); eta < 9*time.Second || eta > 15*time.Second {
		t.Errorf("ETA %v for 1 open record at ≈ 0.1/s; want about 10 s", eta)
	}
}
