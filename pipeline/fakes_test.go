package pipeline_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Fakes of the processor's ports: in memory, no servers. They model what the
// Postgres store promises (conditional outcomes, budget slots held by
// reserved, in-flight and (possibly) billed attempts) so the processor's
// decisions can be checked one by one; the store itself is tested against
// Postgres in package store.

type fakeAttempt struct {
	state            string // reserved, in_flight, finished, abandoned
	billed, possibly bool
}

func (a *fakeAttempt) holds() bool {
	return a.state == "reserved" || a.state == "in_flight" || a.billed || a.possibly
}

type fakeStore struct {
	mu       sync.Mutex
	clock    *fakeClock
	recs     map[int64]*pipeline.Record
	attempts map[int64]*fakeAttempt
	next     int64
	cap      int // 0: no cap
	outcomes []pipeline.Outcome
	// failing makes Reserve fail (a store outage).
	failing error
}

func newFakeStore(clock *fakeClock, recs ...*pipeline.Record) *fakeStore {
	s := &fakeStore{clock: clock, recs: map[int64]*pipeline.Record{}, attempts: map[int64]*fakeAttempt{}}
	for _, r := range recs {
		s.recs[r.ID] = r
	}
	return s
}

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
	r.Status = pipeline.StatusInFlight
	c := *r
	return &c, nil
}

func (s *fakeStore) Reserve(_ context.Context, a pipeline.AttemptStart) (int64, bool, error) {
	if s.failing != nil {
		return 0, false, s.failing
	}
	if s.cap > 0 && s.used() >= s.cap {
		return 0, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.attempts[s.next] = &fakeAttempt{state: "reserved"}
	return s.next, true, nil
}

func (s *fakeStore) Send(_ context.Context, id int64, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attempts[id]
	if !ok || a.state != "reserved" {
		return pipeline.ErrNotFound
	}
	a.state = "in_flight"
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
	r := s.recs[o.RecordID]
	if r.Status.Terminal() {
		return pipeline.ErrTerminal
	}
	r.Status = o.Status
	if o.CountAttempt {
		r.Attempts++
	}
	if o.Verdict.Code != nil {
		r.Verdict = o.Verdict
	}
	r.LastErrorCode, r.LastErrorMessage, r.LinkedRecordID = o.ErrorCode, o.ErrorMessage, o.LinkedRecordID
	switch {
	case o.Infra:
		r.InfraFailures++
		if r.InfraSince == nil {
			now := s.clock.Now()
			r.InfraSince = &now
		}
	case o.AttemptID != 0:
		r.InfraFailures, r.InfraSince = 0, nil
	}
	return nil
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

// answer is one scripted IVS answer: a verification code (a 200) or an error.
type answer struct {
	code int
	err  error
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
		Result: pipeline.VerdictRuleOf(a.code).Result}}, nil
}

func (v *fakeVerifier) RefreshAuth(context.Context) error { v.refreshes++; return nil }

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

type fakeDedup struct {
	prior   *pipeline.Record
	wait    bool
	digests [][]byte
}

func (d *fakeDedup) Dedup(_ context.Context, _ *pipeline.Record, digest []byte, _ time.Duration) (*pipeline.Record, bool, error) {
	d.digests = append(d.digests, digest)
	return d.prior, d.wait, nil
}
