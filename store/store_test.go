package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func keyring(t *testing.T, keys map[string][]byte, active string, index []byte) *pii.Keyring {
	t.Helper()
	k, err := pii.NewKeyring(keys, active, index)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func newBatch(t *testing.T, st *store.Store, inputs ...store.NewRecord) int64 {
	t.Helper()
	ctx := context.Background()
	b, created, err := st.CreateBatch(ctx, pipeline.Batch{Name: "t", Source: "t.csv", ManifestSHA256: t.Name()})
	if err != nil || !created {
		t.Fatalf("create batch: %v %v", created, err)
	}
	n, err := st.InsertInputs(ctx, b.ID, inputs)
	if err != nil || int(n) != len(inputs) {
		t.Fatalf("insert: %d %v", n, err)
	}
	if again, err := st.InsertInputs(ctx, b.ID, inputs); err != nil || again != 0 {
		t.Fatalf("re-insert added %d (%v); want 0", again, err)
	}
	return b.ID
}

func nameInput(ref string) store.NewRecord {
	return store.NewRecord{Input: pipeline.Input{Ref: ref, Line: 2, Shape: ivs.ShapeName, Name: "张伟",
		IDNumber: "11010119900307803X"}}
}

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
