package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/rejection"
)

// world is one processor with fakes for every port and a fake clock.
type world struct {
	clock    *fakeClock
	store    *fakeStore
	account  *fakeAccount
	verifier *fakeVerifier
	fetcher  *fakeFetcher
	limiter  *fakeLimiter
	pauses   int
	proc     *pipeline.Processor
}

func record(id int64) *pipeline.Record {
	return &pipeline.Record{ID: id, BatchID: 1, Generation: 1, Status: pipeline.StatusQueued, Input: pipeline.Input{
		Ref: "r", Shape: pipeline.ShapeNameFaceImage, Name: "张伟", IDNumber: "11010119900307803X", FaceImage: "s3://m/face.jpg"}}
}

func newWorld(t *testing.T, answers []answer, tune func(*pipeline.Config), recs ...*pipeline.Record) *world {
	t.Helper()
	if len(recs) == 0 {
		recs = []*pipeline.Record{record(1)}
	}
	w := &world{clock: &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, account: &fakeAccount{},
		verifier: &fakeVerifier{answers: answers}, limiter: &fakeLimiter{},
		fetcher: &fakeFetcher{objects: map[string][]byte{"s3://m/face.jpg": []byte("face bytes")}}}
	w.store = newFakeStore(w.clock.Now, recs...)
	cfg := pipeline.Config{Records: w.store, Account: w.account, Verifier: w.verifier, Fetcher: w.fetcher,
		Preparer: passPreparer{}, Limiter: w.limiter, Dedup: w.store, Index: plainIndex{}, Now: w.clock.Now,
		StoreRetry: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PauseQueue: func(context.Context) error { w.pauses++; return nil }}
	if tune != nil {
		tune(&cfg)
	}
	proc, err := pipeline.NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.proc = proc
	return w
}

// failure is the CallError a Verifier returns for an IVS error answer.
func failure(class pipeline.Class, code string, status int) error {
	return &pipeline.CallError{Class: class, Code: code, HTTPStatus: status,
		Err: fmt.Errorf("ivs: HTTP %d %s", status, code)}
}

func (w *world) process(id int64) error {
	r := w.store.get(id)
	return w.proc.Process(context.Background(), r.Task())
}

// Every row of the outcome table, one IVS answer each.
func TestOutcomeTable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		ans       answer
		status    pipeline.Status
		attempts  int
		slots     int  // budget slots still held: billed or possibly billed
		retry     bool // a *RetryLater comes back
		paused    bool
		throttled bool
	}{
		{name: "verdict 1000", ans: answer{code: 1000}, status: pipeline.StatusDone, attempts: 1, slots: 1},
		{name: "verdict 2001", ans: answer{code: 2001}, status: pipeline.StatusDone, attempts: 1, slots: 1},
		{name: "verdict 2002", ans: answer{code: 2002}, status: pipeline.StatusDone, attempts: 1, slots: 1},
		{name: "verdict 2003", ans: answer{code: 2003}, status: pipeline.StatusDone, attempts: 1, slots: 1},
		{name: "verdict 2006", ans: answer{code: 2006}, status: pipeline.StatusReview, attempts: 1, slots: 1},
		{name: "verdict 3001", ans: answer{code: 3001}, status: pipeline.StatusReview, attempts: 1, slots: 1},
		{name: "billed_odd", ans: answer{err: failure(pipeline.ClassBilledOdd, "IVS.ODD", 200)}, status: pipeline.StatusFailed, attempts: 1, slots: 1},
		{name: "input_error", ans: answer{err: failure(pipeline.ClassInputError, "IVS.0002", 400)}, status: pipeline.StatusFailed, attempts: 1},
		{name: "transient", ans: answer{err: failure(pipeline.ClassTransient, "IVS.0101", 500)}, status: pipeline.StatusQueued,
			attempts: 1, retry: true},
		{name: "ambiguous", ans: answer{err: &pipeline.CallError{Class: pipeline.ClassAmbiguous, Code: "transport",
			PossiblyBilled: true, Err: errors.New("timeout")}},
			status: pipeline.StatusQueued, attempts: 1, slots: 1, retry: true},
		{name: "unknown", ans: answer{err: errors.New("something else")}, status: pipeline.StatusQueued, attempts: 1, retry: true},
		{name: "throttled", ans: answer{err: failure(pipeline.ClassThrottled, "APIG.0308", 429)}, status: pipeline.StatusQueued,
			retry: true, throttled: true},
		{name: "account_stop", ans: answer{err: failure(pipeline.ClassAccountStop, "IVS.0014", 403)}, status: pipeline.StatusQueued,
			retry: true, paused: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, []answer{tt.ans}, nil)
			err := w.process(1)
			if _, ok := pipeline.AsRetryLater(err); ok != tt.retry || (!tt.retry && err != nil) {
				t.Fatalf("Process: %v; want a RetryLater: %v", err, tt.retry)
			}
			r := w.store.get(1)
			if r.Status != tt.status || r.Attempts != tt.attempts {
				t.Errorf("record %s with %d attempts; want %s with %d", r.Status, r.Attempts, tt.status, tt.attempts)
			}
			if got := w.store.used(); got != tt.slots {
				t.Errorf("%d budget slots held; want %d", got, tt.slots)
			}
			if w.verifier.calls != 1 {
				t.Errorf("%d calls; a record is sent once per task", w.verifier.calls)
			}
			if w.account.paused != tt.paused || (w.pauses == 1) != tt.paused {
				t.Errorf("account paused %v (queue paused %d times); want %v", w.account.paused, w.pauses, tt.paused)
			}
			if (w.limiter.throttled == 1) != tt.throttled {
				t.Errorf("limiter told of throttling %d times", w.limiter.throttled)
			}
			if tt.ans.err == nil && (r.Code == nil || *r.Code != tt.ans.code) {
				t.Errorf("verdict code %v; want %d", r.Code, tt.ans.code)
			}
		})
	}
}

// The verdict rows of the table say which verdicts may be reused across
// batches: only those that depend on the inputs alone.
func TestVerdictRules(t *testing.T) {
	t.Parallel()
	got := map[int]bool{}
	for _, r := range pipeline.VerdictRules() {
		got[r.Code] = r.Reusable
	}
	want := map[int]bool{1000: true, 2001: true, 2002: true, 2003: true, 2006: false, 3001: false}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("code %d reusable %v; want %v", c, got[c], w)
		}
	}
	if r := pipeline.VerdictRuleOf(4242); r.Status != pipeline.StatusReview || r.Reusable {
		t.Errorf("unknown code: %+v; want review, not reusable", r)
	}
}

// An expired token: the credentials are refreshed and the request resent
// once; refused again, the account is paused.
func TestAuthRefreshThenResendOnce(t *testing.T) {
	t.Parallel()
	expired := answer{err: failure(pipeline.ClassAuthRefresh, "APIG.0307", 401)}
	w := newWorld(t, []answer{expired, {code: 1000}}, nil)
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(1); r.Status != pipeline.StatusDone || w.verifier.calls != 2 || w.verifier.refreshes != 1 {
		t.Errorf("record %s after %d calls and %d refreshes; want done after 2 calls and 1 refresh", r.Status,
			w.verifier.calls, w.verifier.refreshes)
	}
	if w.store.used() != 1 {
		t.Errorf("%d slots held; want 1 (the billed resend)", w.store.used())
	}

	w = newWorld(t, []answer{expired, expired}, nil)
	err := w.process(1)
	if !errors.Is(err, pipeline.ErrPaused) || !w.account.paused || w.verifier.calls != 2 {
		t.Errorf("refused twice: %v, paused %v after %d calls; want a pause after 2 calls", err, w.account.paused, w.verifier.calls)
	}
	if r := w.store.get(1); r.Status != pipeline.StatusQueued || r.Attempts != 0 {
		t.Errorf("record %s with %d attempts; want queued, none counted", r.Status, r.Attempts)
	}
}

// Another worker pauses the account while this one waits for the limiter:
// no call goes out and the reserved slot is given back.
func TestPauseBetweenLimiterWaitAndCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []answer{{code: 1000}}, nil)
	w.limiter.onWait = func() { _ = w.account.SetPaused(context.Background(), "IVS.0014", "frozen") }
	err := w.process(1)
	if !errors.Is(err, pipeline.ErrPaused) {
		t.Fatalf("Process: %v; want ErrPaused", err)
	}
	if w.verifier.calls != 0 || w.store.used() != 0 || len(w.store.attempts) != 0 {
		t.Errorf("%d calls, %d slots held, %d attempt rows; want none", w.verifier.calls, w.store.used(), len(w.store.attempts))
	}
	if r := w.store.get(1); r.Status != pipeline.StatusQueued {
		t.Errorf("record %s; want queued (resumable)", r.Status)
	}
}

// Infrastructure trouble is retried with backoff, not counted as an asynq
// failure, and ends failed infra.* at the bound (count, then age); a
// rejection is the input's fault and never retried; a worker stopping is
// not trouble.
func TestInfraBound(t *testing.T) {
	t.Parallel()
	down := errors.New("dial tcp: connection refused")
	w := newWorld(t, []answer{{code: 1000}}, func(c *pipeline.Config) {
		c.InfraMaxTries, c.InfraMaxAge = 3, time.Hour
		c.InfraBackoffBase, c.InfraBackoffMax = time.Second, 4*time.Second
	})
	w.fetcher.err = down
	for i, delay := range []time.Duration{time.Second, 2 * time.Second} {
		err := w.process(1)
		rl, ok := pipeline.AsRetryLater(err)
		if !ok || rl.Failure || rl.Delay < delay/2 || rl.Delay > delay {
			t.Fatalf("failure %d: %v; want a RetryLater in %s–%s that asynq does not count", i+1, err, delay/2, delay)
		}
		if r := w.store.get(1); r.Status != pipeline.StatusQueued || r.InfraFailures != i+1 || r.LastErrorCode != pipeline.CodeInfraFetch {
			t.Fatalf("failure %d: %s, %d infra failures, %q", i+1, r.Status, r.InfraFailures, r.LastErrorCode)
		}
	}
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	r := w.store.get(1)
	if r.Status != pipeline.StatusFailed || r.LastErrorCode != pipeline.CodeInfraFetch ||
		!strings.Contains(r.LastErrorMessage, "ops requeue -code infra.fetch") {
		t.Errorf("at the bound: %s %q %q; want failed infra.fetch with how to resume", r.Status, r.LastErrorCode, r.LastErrorMessage)
	}
	if w.verifier.calls != 0 || w.store.used() != 0 {
		t.Errorf("%d calls, %d slots; want none", w.verifier.calls, w.store.used())
	}

	// The age bound: a second failure two hours after the first ends it.
	w = newWorld(t, nil, func(c *pipeline.Config) { c.InfraMaxTries, c.InfraMaxAge = 100, time.Hour })
	w.fetcher.err = down
	_ = w.process(1)
	w.clock.Advance(2 * time.Hour)
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(1); r.Status != pipeline.StatusFailed || r.InfraFailures != 1 {
		t.Errorf("after two hours: %s with %d infra failures; want failed by age", r.Status, r.InfraFailures)
	}

	// A store outage at the reservation is infra.store; the limiter's is infra.limiter.
	for code, tune := range map[string]func(w *world){
		pipeline.CodeInfraStore:   func(w *world) { w.store.failing = errors.New("connection reset") },
		pipeline.CodeInfraLimiter: func(w *world) { w.limiter.err = errors.New("redis down") },
	} {
		w = newWorld(t, []answer{{code: 1000}}, nil)
		tune(w)
		if _, ok := pipeline.AsRetryLater(w.process(1)); !ok {
			t.Errorf("%s: want a RetryLater", code)
		}
		if r := w.store.get(1); r.LastErrorCode != code || r.InfraFailures != 1 || w.store.used() != 0 {
			t.Errorf("%s: %q with %d infra failures, %d slots held", code, r.LastErrorCode, r.InfraFailures, w.store.used())
		}
	}

	// A rejection is final at once.
	w = newWorld(t, nil, nil)
	w.fetcher.err = rejection.Wrap("media.missing", errors.New("no such key"))
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(1); r.Status != pipeline.StatusRejected || r.LastErrorCode != "media.missing" {
		t.Errorf("rejection: %s %q", r.Status, r.LastErrorCode)
	}

	// The worker stops mid-fetch: back to the queue, nothing counted.
	w = newWorld(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.fetcher.err = context.Canceled
	if _, ok := pipeline.AsRetryLater(w.proc.Process(ctx, record(1).Task())); !ok {
		t.Error("shutdown: want a RetryLater")
	}
	if r := w.store.get(1); r.Status != pipeline.StatusQueued || r.InfraFailures != 0 {
		t.Errorf("shutdown: %s with %d infra failures; want queued, none counted", r.Status, r.InfraFailures)
	}
}

// A slot is reserved before every call and given back when the call was not
// billed; at the cap the record ends failed budget.exhausted without a call.
func TestBudgetReservationAndRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []answer{{err: failure(pipeline.ClassInputError, "IVS.0002", 400)}, {code: 1000}, {code: 1000}},
		func(c *pipeline.Config) { c.Dedup, c.Index = nil, nil }, record(1), record(2), record(3))
	w.store.caps[1] = 1
	var slotsAtCall []int
	w.limiter.onWait = func() { slotsAtCall = append(slotsAtCall, w.store.used()) }
	for id := int64(1); id <= 3; id++ {
		if err := w.process(id); err != nil {
			t.Fatalf("record %d: %v", id, err)
		}
	}
	if len(slotsAtCall) != 2 || slotsAtCall[0] != 1 || slotsAtCall[1] != 1 {
		t.Errorf("slots held while waiting for the limiter: %v; want one reserved each time", slotsAtCall)
	}
	want := []struct {
		status pipeline.Status
		code   string
	}{{pipeline.StatusFailed, "IVS.0002"}, {pipeline.StatusDone, ""}, {pipeline.StatusFailed, pipeline.ErrorBudgetExhausted}}
	for i, wt := range want {
		r := w.store.get(int64(i + 1))
		if r.Status != wt.status || r.LastErrorCode != wt.code {
			t.Errorf("record %d: %s %q; want %s %q", i+1, r.Status, r.LastErrorCode, wt.status, wt.code)
		}
	}
	if w.verifier.calls != 2 || w.store.used() != 1 {
		t.Errorf("%d calls, %d slots held; want 2 calls (the refused one gave its slot back) and 1 slot", w.verifier.calls, w.store.used())
	}
}

// Identical inputs: a record waits while another verifies them, and reuses
// its verdict without a call; the digest covers the media's content.
func TestDedupWaitAndReuse(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []answer{{code: 2002}}, nil, record(1), record(2), record(3))
	// Record 2 is on its way: claimed, its digest kept (it is the one to call).
	r2, err := w.store.Claim(context.Background(), record(2).Task())
	if err != nil {
		t.Fatal(err)
	}
	media := map[string][]byte{"face_image": w.fetcher.objects["s3://m/face.jpg"]}
	if _, wait, err := w.store.Dedup(context.Background(), r2, pipeline.InputDigests(plainIndex{}, r2, media), time.Hour); err != nil || wait {
		t.Fatalf("record 2's dedup: wait %v, %v", wait, err)
	}
	err = w.process(1)
	if rl, ok := pipeline.AsRetryLater(err); !ok || rl.Failure {
		t.Fatalf("wait: %v; want a RetryLater asynq does not count", err)
	}
	if r := w.store.get(1); r.Status != pipeline.StatusQueued || w.verifier.calls != 0 || w.store.used() != 0 {
		t.Errorf("wait: %s, %d calls, %d slots", r.Status, w.verifier.calls, w.store.used())
	}
	if err := w.process(2); err != nil || w.verifier.calls != 1 {
		t.Fatalf("record 2: %v after %d calls", err, w.verifier.calls)
	}
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	r := w.store.get(1)
	if r.Status != pipeline.StatusDone || r.LinkedRecordID == nil || *r.LinkedRecordID != 2 || r.Code == nil ||
		*r.Code != 2002 || w.verifier.calls != 1 {
		t.Errorf("reuse: %s linked %v code %v after %d calls; want done, linked to 2, 2002, no other call", r.Status,
			r.LinkedRecordID, r.Code, w.verifier.calls)
	}
	// Same references, other bytes: other inputs, a call of their own.
	w.fetcher.objects["s3://m/face.jpg"] = []byte("another face")
	if err := w.process(3); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(3); r.LinkedRecordID != nil || w.verifier.calls != 2 {
		t.Errorf("re-uploaded content: linked %v after %d calls; want a call of its own", r.LinkedRecordID, w.verifier.calls)
	}
}

// A zero Config cannot build a processor, and a zero Processor refuses to
// run; a zero Policy takes the defaults (so records are not failed for
// want of attempts).
func TestConfigDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	_, err := pipeline.NewProcessor(pipeline.Config{})
	if err == nil || !strings.Contains(err.Error(), "Records is required") || !strings.Contains(err.Error(), "Verifier is required") {
		t.Errorf("zero config: %v; want every missing port named", err)
	}
	if err := (&pipeline.Processor{}).Process(context.Background(), pipeline.TaskRef{RecordID: 1, Generation: 1}); err == nil {
		t.Error("a Processor not built with NewProcessor ran")
	}
	w := newWorld(t, []answer{{code: 1000}}, func(c *pipeline.Config) { c.Policy = pipeline.Policy{} })
	if w.proc.Policy.MaxAttempts != 5 || w.proc.InfraMaxTries != pipeline.DefaultInfraMaxTries {
		t.Errorf("defaults: max attempts %d, infra tries %d", w.proc.Policy.MaxAttempts, w.proc.InfraMaxTries)
	}
	if err := w.process(1); err != nil || w.store.get(1).Status != pipeline.StatusDone {
		t.Errorf("with a zero Policy: %v, %s", err, w.store.get(1).Status)
	}
	bad := pipeline.DefaultPolicy()
	bad.Rules[pipeline.ClassVerdict] = pipeline.ActRetry
	if _, err := pipeline.NewProcessor(pipeline.Config{Policy: bad}); err == nil || !strings.Contains(err.Error(), "always final") {
		t.Errorf("a retried verdict: %v", err)
	}
	env := map[string]string{"IVSBATCH_RETRY_RULES": "transient=later", "IVSBATCH_MAX_ATTEMPTS": "x"}
	_, err = config.Policy(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), `IVSBATCH_RETRY_RULES="transient=later"`) || !strings.Contains(err.Error(), "want") {
		t.Errorf("bad rules: %v; want the variable, the value and what is expected", err)
	}
	env["IVSBATCH_RETRY_RULES"] = ""
	if _, err := config.Policy(func(k string) string { return env[k] }); err == nil ||
		!strings.Contains(err.Error(), `IVSBATCH_MAX_ATTEMPTS="x"`) {
		t.Errorf("bad max attempts: %v", err)
	}
}

// A redelivered task claimed the record while this one waited for the
// limiter (its reservation is gone): this task stops without a call and
// without touching the record.
func TestReservationTakenBackStopsTheTask(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []answer{{code: 1000}}, nil)
	w.limiter.onWait = func() { // the other task's claim takes the reserved attempt back
		if _, err := w.store.Claim(context.Background(), record(1).Task()); err != nil {
			t.Errorf("the other task's claim: %v", err)
		}
	}
	if err := w.process(1); err != nil {
		t.Fatalf("Process: %v; want nil (the other task goes on)", err)
	}
	if r := w.store.get(1); w.verifier.calls != 0 || r.Status != pipeline.StatusInFlight || r.InfraFailures != 0 {
		t.Errorf("%d calls, record %s with %d infra failures; want no call and the record left to the other task",
			w.verifier.calls, r.Status, r.InfraFailures)
	}
}

// A video verdict's liveness picture is kept when pictures are configured
// and referenced from the record; otherwise it is dropped.
func TestLivenessPictureKept(t *testing.T) {
	t.Parallel()
	pic := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	pictures := &fakePictures{saved: map[pipeline.TaskRef][]byte{}}
	w := newWorld(t, []answer{{code: 1000, picture: pic}}, func(c *pipeline.Config) { c.Pictures = pictures })
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(1); r.PictureRef != "s3://pictures/1" || string(pictures.saved[r.Task()]) != string(pic) {
		t.Errorf("picture ref %q, saved %v; want it kept", r.PictureRef, pictures.saved)
	}
	w = newWorld(t, []answer{{code: 1000, picture: pic}}, nil)
	if err := w.process(1); err != nil {
		t.Fatal(err)
	}
	if r := w.store.get(1); r.PictureRef != "" || r.Status != pipeline.StatusDone {
		t.Errorf("not configured: %s, picture ref %q; want done, none kept", r.Status, r.PictureRef)
	}
}
