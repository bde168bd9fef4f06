package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
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

// Personal fields are sealed at rest, and Rekey moves them to a new key.
func TestSealedAtRestAndRekey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	k1, k2, index := randomKey(), randomKey(), randomKey()
	st := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1}, "k1", index)))
	newBatch(t, st, nameInput("a"), nameInput("b"))
	st.Close()

	raw := func(st *store.Store) string {
		var s string
		if err := st.Pool().QueryRow(ctx, `SELECT string_agg(name_enc || id_number_enc, ',') FROM records`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	rotated := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1, "k2": k2}, "k2", index)))
	if s := raw(rotated); strings.Contains(s, "张伟") || strings.Contains(s, "803X") || !strings.Contains(s, "k1:") {
		t.Fatalf("stored values are not sealed under k1: %q", s)
	}
	n, err := rotated.Rekey(ctx, 1)
	if err != nil || n != 2 {
		t.Fatalf("rekey: %d %v", n, err)
	}
	if s := raw(rotated); strings.Contains(s, "k1:") {
		t.Fatalf("values still under k1 after rekey: %q", s)
	}
	onlyNew := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k2": k2}, "k2", index)))
	rec, err := onlyNew.GetRecord(ctx, 1)
	if err != nil || rec.Name != "张伟" || rec.IDNumber != "11010119900307803X" {
		t.Fatalf("read with only the new key: %+v %v", rec, err)
	}
	if n, err := onlyNew.Rekey(ctx, 10); err != nil || n != 0 {
		t.Fatalf("second rekey changed %d (%v)", n, err)
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
