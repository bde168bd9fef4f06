// Package pipelinetest is the conformance suite of the store ports the
// processor uses (pipeline.RecordStore and pipeline.Deduper), as river's
// riverdrivertest is of its drivers: the same tests run against the
// processor tests' in-memory fake and against the Postgres store, so that
// the fake promises nothing Postgres does not do. It covers what the
// processor relies on: the claim, the conditional outcome (a final record is
// never changed), generation checks, budget slots (reserve, send, release,
// give-back) and dedup.
package pipelinetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Store is a store under test: the ports, and the set-up and read-back the
// suite needs beyond them.
type Store interface {
	pipeline.RecordStore
	pipeline.Deduper
	// AddBatch stores a batch whose budget allows maxBilled billed calls
	// (0: no cap) and returns its id.
	AddBatch(t testing.TB, maxBilled int) int64
	// AddRecord stores a record of batch with input in, queued at its
	// first generation, and returns its task.
	AddRecord(t testing.TB, batchID int64, in pipeline.Input) pipeline.TaskRef
	// Record reads record id back.
	Record(t testing.TB, id int64) *pipeline.Record
	// BudgetUsed is how many slots of batch's budget are held.
	BudgetUsed(t testing.TB, batchID int64) int
	// NewGeneration gives record id its next generation, queued with no
	// attempts counted, as an operator's requeue does, and returns the new
	// task.
	NewGeneration(t testing.TB, id int64) pipeline.TaskRef
	// OutliveCallGrace makes the record's attempts in flight older than
	// the store's call grace: their calls are over for certain.
	OutliveCallGrace(t testing.TB, id int64)
}

// RunRecordStore runs the suite; open returns an empty store for one test.
// The tests run in parallel, each with its own store.
func RunRecordStore(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"ClaimQueued", testClaimQueued},
		{"ClaimRefuses", testClaimRefuses},
		{"ClaimReleasesReserved", testClaimReleasesReserved},
		{"ClaimLeavesCallInFlight", testClaimLeavesCallInFlight},
		{"ClaimClosesAbandonedCall", testClaimClosesAbandonedCall},
		{"ReserveTakesSlot", testReserveTakesSlot},
		{"ReserveNeverExceedsCap", testReserveNeverExceedsCap},
		{"SendOnlyReserved", testSendOnlyReserved},
		{"FinishGivesBackUnbilledSlot", testFinishGivesBackUnbilledSlot},
		{"FinishNeverChangesFinal", testFinishNeverChangesFinal},
		{"FinishGeneration", testFinishGeneration},
		{"FinishCountsAndInfra", testFinishCountsAndInfra},
		{"DedupWithinBatch", testDedupWithinBatch},
		{"DedupAcrossBatches", testDedupAcrossBatches},
		{"DedupReverify", testDedupReverify},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

var ctx = context.Background()

// input is a two-factor input; ref names it within its batch.
func input(ref string) pipeline.Input {
	return pipeline.Input{Ref: ref, Line: 2, Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}
}

// add stores a batch (budget maxBilled) with one queued record per ref.
func add(t *testing.T, s Store, maxBilled int, refs ...string) (int64, []pipeline.TaskRef) {
	t.Helper()
	b := s.AddBatch(t, maxBilled)
	var tasks []pipeline.TaskRef
	for _, r := range refs {
		tasks = append(tasks, s.AddRecord(t, b, input(r)))
	}
	return b, tasks
}

func claim(t *testing.T, s Store, ref pipeline.TaskRef) *pipeline.Record {
	t.Helper()
	rec, err := s.Claim(ctx, ref)
	if err != nil {
		t.Fatalf("claim record %d: %v", ref.RecordID, err)
	}
	return rec
}

// reserve reserves an attempt for rec, which must get a slot.
func reserve(t *testing.T, s Store, rec *pipeline.Record) int64 {
	t.Helper()
	id, ok, err := s.Reserve(ctx, start(rec))
	if err != nil || !ok {
		t.Fatalf("reserve for record %d: ok %v, %v", rec.ID, ok, err)
	}
	return id
}

// send reserves and sends an attempt for rec.
func send(t *testing.T, s Store, rec *pipeline.Record) int64 {
	t.Helper()
	id := reserve(t, s, rec)
	if err := s.Send(ctx, id, time.Now()); err != nil {
		t.Fatalf("send attempt %d: %v", id, err)
	}
	return id
}

func start(rec *pipeline.Record) pipeline.AttemptStart {
	return pipeline.AttemptStart{RecordID: rec.ID, BatchID: rec.BatchID, Generation: rec.Generation,
		UUID: rec.Task().UUID(), Endpoint: rec.Shape.Endpoint(), StartedAt: time.Now(), MediaNote: "passed through"}
}

func finish(t *testing.T, s Store, o pipeline.Outcome) {
	t.Helper()
	if err := s.Finish(ctx, o); err != nil {
		t.Fatalf("finish record %d: %v", o.RecordID, err)
	}
}

// verdict is a final outcome with verification code (a billed call when
// attemptID is not 0).
func verdict(rec *pipeline.Record, attemptID int64, code int) pipeline.Outcome {
	c := code
	return pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: attemptID,
		Status: pipeline.VerdictRuleOf(code).Status, CountAttempt: true,
		Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), HTTPStatus: 200, Code: fmt.Sprint(code), Billed: true,
			Class: pipeline.ClassVerdict},
		Verdict: pipeline.Verdict{Result: pipeline.VerdictRuleOf(code).Result, Code: &c, Message: "m"}}
}

// refused is an outcome of an unbilled answer with status st.
func refused(rec *pipeline.Record, attemptID int64, st pipeline.Status, code string) pipeline.Outcome {
	return pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: attemptID, Status: st,
		CountAttempt: true, ErrorCode: code, ErrorMessage: "refused: " + code,
		Attempt: pipeline.AttemptResult{FinishedAt: time.Now(), HTTPStatus: 400, Code: code, Class: pipeline.ClassInputError}}
}

func expectStatus(t *testing.T, s Store, id int64, st pipeline.Status, attempts int) *pipeline.Record {
	t.Helper()
	r := s.Record(t, id)
	if r.Status != st || r.Attempts != attempts {
		t.Fatalf("record %d: %s with %d attempts; want %s with %d", id, r.Status, r.Attempts, st, attempts)
	}
	return r
}

func expectUsed(t *testing.T, s Store, batch int64, want int) {
	t.Helper()
	if got := s.BudgetUsed(t, batch); got != want {
		t.Fatalf("batch %d: %d budget slots held; want %d", batch, got, want)
	}
}

// A queued record is claimed in flight with its input; a redelivered task
// of the same generation claims it again while nothing is in flight.
func testClaimQueued(t *testing.T, s Store) {
	b, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	if rec.Status != pipeline.StatusInFlight || rec.BatchID != b || rec.Generation != 1 || rec.Attempts != 0 ||
		rec.Shape != pipeline.ShapeName || rec.Name != "张伟" || rec.IDNumber != "11010119900307803X" {
		t.Fatalf("claimed %+v", rec)
	}
	expectStatus(t, s, rec.ID, pipeline.StatusInFlight, 0)
	if again := claim(t, s, tasks[0]); again.ID != rec.ID || again.Attempts != 0 {
		t.Fatalf("reclaimed %+v", again)
	}
}

// A task for a record that is gone, final or at another generation is
// refused with the sentinel that says so.
func testClaimRefuses(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "final", "rerun")
	missing := pipeline.TaskRef{RecordID: tasks[1].RecordID + 1000, Generation: 1, Shape: pipeline.ShapeName}
	if _, err := s.Claim(ctx, missing); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("missing record: %v; want ErrNotFound", err)
	}
	rec := claim(t, s, tasks[0])
	finish(t, s, verdict(rec, 0, 1000))
	if _, err := s.Claim(ctx, tasks[0]); !errors.Is(err, pipeline.ErrTerminal) {
		t.Errorf("final record: %v; want ErrTerminal", err)
	}
	rec = claim(t, s, tasks[1])
	finish(t, s, refused(rec, 0, pipeline.StatusFailed, "IVS.0011"))
	next := s.NewGeneration(t, rec.ID)
	if next.Generation != 2 {
		t.Fatalf("new generation %d; want 2", next.Generation)
	}
	if _, err := s.Claim(ctx, tasks[1]); !errors.Is(err, pipeline.ErrStaleGeneration) {
		t.Errorf("old generation's task: %v; want ErrStaleGeneration", err)
	}
	expectStatus(t, s, rec.ID, pipeline.StatusQueued, 0)
	if got := claim(t, s, next); got.Generation != 2 {
		t.Errorf("claimed generation %d; want 2", got.Generation)
	}
}

// A reserved attempt a crashed task left is deleted by the next claim and
// its slot given back; nothing is counted.
func testClaimReleasesReserved(t *testing.T, s Store) {
	b, tasks := add(t, s, 1, "a")
	rec := claim(t, s, tasks[0])
	id := reserve(t, s, rec)
	expectUsed(t, s, b, 1)
	rec = claim(t, s, tasks[0])
	if rec.Attempts != 0 {
		t.Errorf("a reserved attempt was counted: %d attempts", rec.Attempts)
	}
	expectUsed(t, s, b, 0)
	if err := s.Send(ctx, id, time.Now()); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("sending the released attempt: %v; want ErrNotFound", err)
	}
	reserve(t, s, rec) // the slot is free again
}

// While a call for the record may still be on the wire, a redelivered task
// is refused with how long to wait, and nothing changes.
func testClaimLeavesCallInFlight(t *testing.T, s Store) {
	b, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	id := send(t, s, rec)
	_, err := s.Claim(ctx, tasks[0])
	cif, ok := errors.AsType[*pipeline.CallInFlight](err)
	if !ok || !errors.Is(err, pipeline.ErrCallInFlight) || cif.Wait <= 0 {
		t.Fatalf("claim during a call: %v; want a CallInFlight with a wait", err)
	}
	expectStatus(t, s, rec.ID, pipeline.StatusInFlight, 0)
	expectUsed(t, s, b, 1)
	finish(t, s, verdict(rec, id, 1000)) // the call's own task still stores its outcome
	expectStatus(t, s, rec.ID, pipeline.StatusDone, 1)
}

// Once the call grace is over, the next claim closes the attempt in flight
// as abandoned: possibly billed (its slot stays held) and counted.
func testClaimClosesAbandonedCall(t *testing.T, s Store) {
	b, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	id := send(t, s, rec)
	s.OutliveCallGrace(t, rec.ID)
	rec = claim(t, s, tasks[0])
	if rec.Attempts != 1 || rec.Status != pipeline.StatusInFlight {
		t.Fatalf("after an abandoned call: %s with %d attempts; want in flight with 1", rec.Status, rec.Attempts)
	}
	expectUsed(t, s, b, 1)
	// The abandoned task comes back after all with an unbilled answer:
	// its slot is given back.
	o := refused(rec, id, pipeline.StatusFailed, "IVS.0011")
	finish(t, s, o)
	expectUsed(t, s, b, 0)
}

// A reservation takes a slot of its own batch's budget; at the cap it is
// refused and nothing is written; a released slot is free again.
func testReserveTakesSlot(t *testing.T, s Store) {
	b, tasks := add(t, s, 1, "a", "b")
	other, more := add(t, s, 0, "c")
	r1, r2 := claim(t, s, tasks[0]), claim(t, s, tasks[1])
	id := reserve(t, s, r1)
	expectUsed(t, s, b, 1)
	if id2, ok, err := s.Reserve(ctx, start(r2)); err != nil || ok || id2 != 0 {
		t.Fatalf("reserve at the cap: id %d, ok %v, %v; want refused", id2, ok, err)
	}
	expectUsed(t, s, b, 1)
	reserve(t, s, claim(t, s, more[0])) // another batch's budget
	expectUsed(t, s, other, 1)
	if err := s.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	expectUsed(t, s, b, 0)
	sent := send(t, s, r2)
	if err := s.Release(ctx, sent); err != nil { // a sent attempt is not released
		t.Fatal(err)
	}
	expectUsed(t, s, b, 1)
}

// Concurrent reservations never exceed the cap.
func testReserveNeverExceedsCap(t *testing.T, s Store) {
	const n, limit = 12, 3
	b := s.AddBatch(t, limit)
	recs := make([]*pipeline.Record, n)
	for i := range recs {
		recs[i] = claim(t, s, s.AddRecord(t, b, input(fmt.Sprint("r", i))))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  int
		errs []error
	)
	for _, r := range recs {
		wg.Go(func() {
			_, ok, err := s.Reserve(ctx, start(r))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				got++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 || got != limit {
		t.Fatalf("%d of %d concurrent reservations got a slot (errors %v); want %d", got, n, errs, limit)
	}
	expectUsed(t, s, b, limit)
}

// Only a reserved attempt goes in flight, once.
func testSendOnlyReserved(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	id := send(t, s, rec)
	if err := s.Send(ctx, id, time.Now()); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("sending twice: %v; want ErrNotFound", err)
	}
	if err := s.Send(ctx, id+1000, time.Now()); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("sending an unknown attempt: %v; want ErrNotFound", err)
	}
}

// Completing an attempt gives its slot back unless it was billed or
// possibly billed.
func testFinishGivesBackUnbilledSlot(t *testing.T, s Store) {
	b, tasks := add(t, s, 0, "billed", "refused", "possibly")
	recs := []*pipeline.Record{claim(t, s, tasks[0]), claim(t, s, tasks[1]), claim(t, s, tasks[2])}
	ids := []int64{send(t, s, recs[0]), send(t, s, recs[1]), send(t, s, recs[2])}
	expectUsed(t, s, b, 3)
	finish(t, s, verdict(recs[0], ids[0], 1000))
	finish(t, s, refused(recs[1], ids[1], pipeline.StatusFailed, "IVS.0011"))
	amb := pipeline.Outcome{RecordID: recs[2].ID, Generation: 1, AttemptID: ids[2], Status: pipeline.StatusQueued,
		CountAttempt: true, ErrorCode: "transport", Attempt: pipeline.AttemptResult{FinishedAt: time.Now(),
			Code: "transport", Class: pipeline.ClassAmbiguous, PossiblyBilled: true}}
	finish(t, s, amb)
	expectUsed(t, s, b, 2)
	expectStatus(t, s, recs[2].ID, pipeline.StatusQueued, 1)
}

// A final record is never changed: a second outcome (a redelivered task)
// is refused with ErrTerminal, yet its attempt is completed all the same.
func testFinishNeverChangesFinal(t *testing.T, s Store) {
	b, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	finish(t, s, verdict(rec, send(t, s, rec), 2001))
	late := send(t, s, rec) // a redelivered task's call
	o := refused(rec, late, pipeline.StatusFailed, "IVS.0011")
	if err := s.Finish(ctx, o); !errors.Is(err, pipeline.ErrTerminal) {
		t.Fatalf("second outcome: %v; want ErrTerminal", err)
	}
	r := expectStatus(t, s, rec.ID, pipeline.StatusDone, 1)
	if r.Code == nil || *r.Code != 2001 || r.Result != "invalid" || r.LastErrorCode != "" || r.FinishedAt == nil {
		t.Errorf("final record changed: code %v, result %q, last error %q, finished %v", r.Code, r.Result,
			r.LastErrorCode, r.FinishedAt)
	}
	expectUsed(t, s, b, 1) // the late attempt was completed, unbilled: its slot is back
}

// An outcome for another generation is refused and changes nothing.
func testFinishGeneration(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	finish(t, s, refused(rec, 0, pipeline.StatusFailed, "IVS.0011"))
	s.NewGeneration(t, rec.ID)
	if err := s.Finish(ctx, refused(rec, 0, pipeline.StatusQueued, "IVS.0101")); !errors.Is(err, pipeline.ErrStaleGeneration) {
		t.Fatalf("outcome of generation 1 on generation 2: %v; want ErrStaleGeneration", err)
	}
	expectStatus(t, s, rec.ID, pipeline.StatusQueued, 0)
	missing := refused(rec, 0, pipeline.StatusQueued, "x")
	missing.RecordID += 1000
	if err := s.Finish(ctx, missing); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("outcome of a missing record: %v; want ErrNotFound", err)
	}
}

// An outcome counts its attempt when told to, stores the last error, and
// keeps the infrastructure count: up on trouble, reset by a call, kept
// otherwise.
func testFinishCountsAndInfra(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "a")
	rec := claim(t, s, tasks[0])
	infra := pipeline.Outcome{RecordID: rec.ID, Generation: 1, Status: pipeline.StatusQueued, Infra: true,
		ErrorCode: pipeline.CodeInfraFetch, ErrorMessage: "s3 down"}
	finish(t, s, infra)
	finish(t, s, infra)
	r := expectStatus(t, s, rec.ID, pipeline.StatusQueued, 0)
	if r.InfraFailures != 2 || r.InfraSince == nil || r.LastErrorCode != pipeline.CodeInfraFetch || r.LastErrorMessage != "s3 down" {
		t.Fatalf("after two infra failures: %d since %v, %q %q", r.InfraFailures, r.InfraSince, r.LastErrorCode, r.LastErrorMessage)
	}
	wait := pipeline.Outcome{RecordID: rec.ID, Generation: 1, Status: pipeline.StatusQueued}
	finish(t, s, wait) // no call, no trouble: the count stays
	if r = s.Record(t, rec.ID); r.InfraFailures != 2 || r.LastErrorCode != "" {
		t.Fatalf("after a wait: %d infra failures, last error %q", r.InfraFailures, r.LastErrorCode)
	}
	rec = claim(t, s, tasks[0])
	throttled := refused(rec, send(t, s, rec), pipeline.StatusQueued, "APIG.0308")
	throttled.CountAttempt = false
	finish(t, s, throttled)
	r = expectStatus(t, s, rec.ID, pipeline.StatusQueued, 0)
	if r.InfraFailures != 0 || r.InfraSince != nil || r.LastErrorCode != "APIG.0308" {
		t.Fatalf("after a call: %d infra failures since %v, last error %q", r.InfraFailures, r.InfraSince, r.LastErrorCode)
	}
	rec = claim(t, s, tasks[0])
	finish(t, s, refused(rec, send(t, s, rec), pipeline.StatusQueued, "IVS.0101"))
	expectStatus(t, s, rec.ID, pipeline.StatusQueued, 1)
}

// digest returns a fresh input digest.
func digest() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// dedup runs Dedup for rec and returns the prior record's id (0: none)
// and whether to wait.
func dedup(t *testing.T, s Store, rec *pipeline.Record, d []byte, window time.Duration) (int64, bool) {
	t.Helper()
	prior, wait, err := s.Dedup(ctx, rec, [][]byte{d}, window)
	if err != nil {
		t.Fatalf("dedup record %d: %v", rec.ID, err)
	}
	if prior == nil {
		return 0, wait
	}
	if prior.Code == nil || !prior.Status.Terminal() {
		t.Fatalf("prior record %d without a final verdict: %s %v", prior.ID, prior.Status, prior.Code)
	}
	return prior.ID, wait
}

// Within a batch, the first record with a digest is the one to call; an
// identical one waits while it is on its way and then reuses any verdict
// it got. A failure is not reused, and a record's own digest is not its
// prior.
func testDedupWithinBatch(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "a", "b", "c")
	a, b, c := claim(t, s, tasks[0]), claim(t, s, tasks[1]), claim(t, s, tasks[2])
	d := digest()
	if p, wait := dedup(t, s, a, d, time.Hour); p != 0 || wait {
		t.Fatalf("first record: prior %d, wait %v; want to call", p, wait)
	}
	if p, wait := dedup(t, s, a, d, time.Hour); p != 0 || wait {
		t.Fatalf("first record again (its task redelivered): prior %d, wait %v; want to call", p, wait)
	}
	if p, wait := dedup(t, s, b, d, time.Hour); p != 0 || !wait {
		t.Fatalf("identical record while the first is on its way: prior %d, wait %v; want to wait", p, wait)
	}
	finish(t, s, verdict(a, 0, 3001)) // not reusable across batches, reused within its own
	if p, wait := dedup(t, s, b, d, time.Hour); p != a.ID || wait {
		t.Fatalf("after the first's verdict: prior %d, wait %v; want %d", p, wait, a.ID)
	}
	e := digest()
	if p, wait := dedup(t, s, b, e, time.Hour); p != 0 || wait {
		t.Fatalf("other inputs: prior %d, wait %v; want to call", p, wait)
	}
	finish(t, s, refused(b, 0, pipeline.StatusFailed, "IVS.0011"))
	if p, wait := dedup(t, s, c, e, time.Hour); p != 0 || wait {
		t.Fatalf("identical to a failed record: prior %d, wait %v; want to call", p, wait)
	}
}

// Across batches, a record waits for identical inputs in flight and reuses
// only a reusable verdict within the window; a negative window turns both
// off.
func testDedupAcrossBatches(t *testing.T, s Store) {
	_, first := add(t, s, 0, "a")
	_, second := add(t, s, 0, "b")
	_, third := add(t, s, 0, "c")
	a, b, c := claim(t, s, first[0]), claim(t, s, second[0]), claim(t, s, third[0])
	d := digest()
	dedup(t, s, a, d, time.Hour)
	if p, wait := dedup(t, s, b, d, -1); p != 0 || wait {
		t.Fatalf("window off, identical inputs in flight elsewhere: prior %d, wait %v; want to call", p, wait)
	}
	if p, wait := dedup(t, s, c, d, time.Hour); p != 0 || !wait {
		t.Fatalf("identical inputs in flight in another batch: prior %d, wait %v; want to wait", p, wait)
	}
	finish(t, s, verdict(a, 0, 2006)) // depends on the authority's data: not reused across batches
	finish(t, s, verdict(b, 0, 1000))
	if p, _ := dedup(t, s, c, d, -1); p != 0 {
		t.Errorf("window off: reused %d across batches", p)
	}
	if p, wait := dedup(t, s, c, d, time.Hour); p != b.ID || wait {
		t.Errorf("a reusable verdict within the window: prior %d, wait %v; want %d", p, wait, b.ID)
	}
}

// A record forced to re-verify is always the one to call.
func testDedupReverify(t *testing.T, s Store) {
	_, tasks := add(t, s, 0, "a", "b", "c")
	a, b, c := claim(t, s, tasks[0]), claim(t, s, tasks[1]), claim(t, s, tasks[2])
	d := digest()
	dedup(t, s, a, d, time.Hour)
	b.Reverify = true
	if p, wait := dedup(t, s, b, d, time.Hour); p != 0 || wait {
		t.Fatalf("forced while identical inputs are in flight: prior %d, wait %v; want to call", p, wait)
	}
	finish(t, s, verdict(a, 0, 1000))
	c.Reverify = true
	if p, wait := dedup(t, s, c, d, time.Hour); p != 0 || wait {
		t.Fatalf("forced with a verdict to reuse: prior %d, wait %v; want to call", p, wait)
	}
}
