package pipeline_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/pipeline/pipelinetest"
)

// Fakes of the processor's ports: in memory, no servers. fakeStore models
// what the Postgres store promises (conditional outcomes, generations,
// budget slots held by reserved, in-flight and (possibly) billed attempts,
// the call grace, dedup by digest); it passes the same conformance suite as
// the store (pipelinetest, TestFakeStoreConformance here and
// TestRecordStoreConformance in package store).

type fakeAttempt struct {
	recordID, batchID int64
	state             string // reserved, in_flight, finished, abandoned
	startedAt         time.Time
	billed, possibly  bool
}

func (a *fakeAttempt) holds() bool {
	return a.state == "reserved" || a.state == "in_flight" || a.billed || a.possibly
}

// fakeCallGrace is the fake's call grace (the store's is the IVS timeout
// and a margin).
const fakeCallGrace = 40 * time.Second

type fakeStore struct {
	mu       sync.Mutex
	now      func() time.Time
	recs     map[int64]*pipeline.Record
	digests  map[int64][]byte // input digest of the records that call IVS
	attempts map[int64]*fakeAttempt
	caps     map[int64]int // batch → max billed calls (0: no cap)
	next     int64         // last attempt id
	batches  int64         // last batch id
	outcomes []pipeline.Outcome
	// failing makes Reserve fail (a store outage).
	failing error
}

func newFakeStore(now func() time.Time, recs ...*pipeline.Record) *fakeStore {
	s := &fakeStore{now: now, recs: map[int64]*pipeline.Record{}, digests: map[int64][]byte{},
		attempts: map[int64]*fakeAttempt{}, caps: map[int64]int{}}
	for _, r := range recs {
		s.recs[r.ID] = r
		s.batches = max(s.batches, r.BatchID)
	}
	return s
}

// used is the budget slots held in every batch.
func (s *fakeStore) used() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.attempts {
		if a.holds() {
			n++
		}
	}
	return n
}

func (s *fakeStore) get(id int64) pipeline.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.recs[id]
}

func (s *fakeStore) Claim(_ context.Context, ref pipeline.TaskRef) (*pipeline.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[ref.RecordID]
	switch {
	case !ok:
		return nil, pipeline.ErrNotFound
	case r.Status.Terminal():
		return nil, pipeline.ErrTerminal
	case r.Generation != ref.Generation:
		return nil, pipeline.ErrStaleGeneration
	}
	if wait := s.callWait(r.ID); r.Status == pipeline.StatusInFlight && wait > 0 {
		return nil, &pipeline.CallInFlight{Wait: wait}
	}
	for id, a := range s.attempts {
		switch {
		case a.recordID != r.ID:
		case a.state == "reserved":
			delete(s.attempts, id)
		case a.state == "in_flight":
			a.state, a.possibly = "abandoned", true
			r.Attempts++
		}
	}
	r.Status = pipeline.StatusInFlight
	c := *r
	return &c, nil
}

// callWait is how long until every call in flight for record id is over
// for certain (0: none is that recent).
func (s *fakeStore) callWait(id int64) time.Duration {
	var wait time.Duration
	for _, a := range s.attempts {
		if a.recordID == id && a.state == "in_flight" {
			wait = max(wait, a.startedAt.Add(fakeCallGrace).Sub(s.now()))
		}
	}
	return wait
}

func (s *fakeStore) Reserve(_ context.Context, a pipeline.AttemptStart) (int64, bool, error) {
	if s.failing != nil {
		return 0, false, s.failing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.caps[a.BatchID]; c > 0 && s.held(a.BatchID) >= c {
		return 0, false, nil
	}
	s.next++
	s.attempts[s.next] = &fakeAttempt{recordID: a.RecordID, batchID: a.BatchID, state: "reserved", startedAt: a.StartedAt}
	return s.next, true, nil
}

// held is the budget slots batch's attempts hold.
func (s *fakeStore) held(batch int64) int {
	n := 0
	for _, a := range s.attempts {
		if a.batchID == batch && a.holds() {
			n++
		}
	}
	return n
}

func (s *fakeStore) Send(_ context.Context, id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attempts[id]
	if !ok || a.state != "reserved" {
		return pipeline.ErrNotFound
	}
	a.state, a.startedAt = "in_flight", at
	return nil
}

func (s *fakeStore) Release(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.attempts[id]; ok && a.state == "reserved" {
		delete(s.attempts, id)
	}
	return nil
}

func (s *fakeStore) Finish(_ context.Context, o pipeline.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes = append(s.outcomes, o)
	if a, ok := s.attempts[o.AttemptID]; ok {
		a.state, a.billed, a.possibly = "finished", o.Attempt.Billed, o.Attempt.PossiblyBilled
	}
	r, ok := s.recs[o.RecordID]
	switch {
	case !ok:
		return pipeline.ErrNotFound
	case r.Generation != o.Generation:
		return pipeline.ErrStaleGeneration
	case r.Status.Terminal():
		return pipeline.ErrTerminal
	}
	r.Status = o.Status
	if o.CountAttempt {
		r.Attempts++
	}
	mergeVerdict(&r.Verdict, o.Verdict)
	r.LastErrorCode, r.LastErrorMessage = o.ErrorCode, o.ErrorMessage
	r.LinkedRecordID = cmp.Or(o.LinkedRecordID, r.LinkedRecordID)
	switch {
	case o.Infra:
		r.InfraFailures++
		if r.InfraSince == nil {
			now := s.now()
			r.InfraSince = &now
		}
	case o.AttemptID != 0:
		r.InfraFailures, r.InfraSince = 0, nil
	}
	r.FinishedAt = nil
	if r.Status.Terminal() {
		now := s.now()
		r.FinishedAt = &now
	}
	return nil
}

// mergeVerdict sets each field of v that is set in o (the store's coalesce).
func mergeVerdict(v *pipeline.Verdict, o pipeline.Verdict) {
	v.Result = cmp.Or(o.Result, v.Result)
	v.Code = cmp.Or(o.Code, v.Code)
	v.Message = cmp.Or(o.Message, v.Message)
	v.Similarity = cmp.Or(o.Similarity, v.Similarity)
	v.IDCardResult = cmp.Or(o.IDCardResult, v.IDCardResult)
	v.VideoAlive = cmp.Or(o.VideoAlive, v.VideoAlive)
	if o.VideoActions != nil {
		v.VideoActions = o.VideoActions
	}
	v.PictureRef = cmp.Or(o.PictureRef, v.PictureRef)
}

// Dedup implements pipeline.Deduper as the store does: identical inputs of
// an open record (in rec's batch, or any batch when window > 0) make rec
// wait; else the latest final verdict of identical inputs is reused (any in
// rec's batch, a reusable one finished within window across batches); else
// rec's digest is kept and rec is the one to call.
func (s *fakeStore) Dedup(_ context.Context, rec *pipeline.Record, digests [][]byte, window time.Duration) (*pipeline.Record, bool, error) {
	digest := digests[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Reverify {
		s.digests[rec.ID] = digest
		return nil, false, nil
	}
	across := window > 0
	var prior *pipeline.Record
	for id, d := range s.digests {
		r := s.recs[id]
		if id == rec.ID || !slices.ContainsFunc(digests, func(x []byte) bool { return bytes.Equal(d, x) }) ||
			(r.BatchID != rec.BatchID && !across) {
			continue
		}
		if !r.Status.Terminal() {
			return nil, true, nil
		}
		if r.Code == nil || (r.BatchID != rec.BatchID && (!pipeline.VerdictRuleOf(*r.Code).Reusable ||
			!r.FinishedAt.After(s.now().Add(-window)))) {
			continue
		}
		if prior == nil || r.FinishedAt.After(*prior.FinishedAt) {
			prior = r
		}
	}
	if prior == nil {
		s.digests[rec.ID] = digest
		return nil, false, nil
	}
	if prior.LinkedRecordID != nil {
		prior = s.recs[*prior.LinkedRecordID]
	}
	c := *prior
	return &c, false, nil
}

// The conformance suite's set-up (pipelinetest.Store).

func (s *fakeStore) AddBatch(_ testing.TB, maxBilled int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	s.caps[s.batches] = maxBilled
	return s.batches
}

func (s *fakeStore) AddRecord(_ testing.TB, batchID int64, in pipeline.Input) pipeline.TaskRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &pipeline.Record{ID: int64(len(s.recs) + 1), BatchID: batchID, Input: in, Status: pipeline.StatusQueued,
		Generation: 1, CreatedAt: s.now(), UpdatedAt: s.now()}
	s.recs[r.ID] = r
	return r.Task()
}

func (s *fakeStore) Record(t testing.TB, id int64) *pipeline.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		t.Fatalf("no record %d", id)
	}
	c := *r
	return &c
}

func (s *fakeStore) BudgetUsed(_ testing.TB, batchID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held(batchID)
}

func (s *fakeStore) NewGeneration(_ testing.TB, id int64) pipeline.TaskRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	r.Generation++
	r.Status, r.Attempts, r.FinishedAt = pipeline.StatusQueued, 0, nil
	return r.Task()
}

func (s *fakeStore) OutliveCallGrace(_ testing.TB, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.attempts {
		if a.recordID == id && a.state == "in_flight" {
			a.startedAt = a.startedAt.Add(-fakeCallGrace - time.Second)
		}
	}
}

type fakeAccount struct {
	mu     sync.Mutex
	paused bool
	code   string
}

func (a *fakeAccount) SetPaused(_ context.Context, code, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paused, a.code = true, code
	return nil
}

func (a *fakeAccount) ClearPaused(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paused = false
	return nil
}

func (a *fakeAccount) Paused(context.Context) (string, string, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.code, "", a.paused, nil
}

// answer is one scripted IVS answer: a verification code (a 200, with a
// liveness picture when set) or an error.
type answer struct {
	code    int
	err     error
	picture []byte
}

type fakeVerifier struct {
	answers   []answer
	calls     int
	refreshes int
}

func (v *fakeVerifier) Verify(context.Context, pipeline.Call) (*pipeline.Reply, error) {
	a := v.answers[min(v.calls, len(v.answers)-1)]
	v.calls++
	if a.err != nil {
		return nil, a.err
	}
	code := a.code
	return &pipeline.Reply{HTTPStatus: 200, RequestID: "req", Verdict: pipeline.Verdict{Code: &code,
		Result: pipeline.VerdictRuleOf(a.code).Result}, Picture: a.picture}, nil
}

func (v *fakeVerifier) RefreshAuth(context.Context) error { v.refreshes++; return nil }

// fakePictures keeps liveness pictures by task.
type fakePictures struct{ saved map[pipeline.TaskRef][]byte }

func (p *fakePictures) SavePicture(_ context.Context, ref pipeline.TaskRef, jpeg []byte) (string, error) {
	p.saved[ref] = jpeg
	return fmt.Sprintf("s3://pictures/%d", ref.RecordID), nil
}

type fakeFetcher struct {
	objects map[string][]byte
	err     error // returned for every fetch when set
}

func (f *fakeFetcher) Fetch(_ context.Context, ref string, _ int64) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.objects[ref]
	if !ok {
		return nil, errors.New("no such object " + ref)
	}
	return b, nil
}

type passPreparer struct{}

func (passPreparer) Prepare(_ context.Context, _ pipeline.MediaKind, data []byte) (pipeline.Prepared, error) {
	return pipeline.Prepared{Data: data, Note: "passed through"}, nil
}

type fakeLimiter struct {
	onWait    func()
	err       error
	throttled int
}

func (l *fakeLimiter) Wait(context.Context, pipeline.Endpoint) error {
	if l.onWait != nil {
		l.onWait()
	}
	return l.err
}

func (l *fakeLimiter) Throttled(context.Context, pipeline.Endpoint) { l.throttled++ }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// plainIndex is an unkeyed stand-in for the pii keyring's blind index.
type plainIndex struct{}

func (plainIndex) Index(parts ...string) []byte {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return h[:]
}

// The fake store keeps the promises of the Postgres store: the same suite
// runs against both.
func TestFakeStoreConformance(t *testing.T) {
	t.Parallel()
	pipelinetest.RunRecordStore(t, func(*testing.T) pipelinetest.Store { return newFakeStore(time.Now) })
}
