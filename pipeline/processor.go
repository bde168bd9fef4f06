package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Processor handles one queued record: claim it, fetch its media, look for
// a verdict of identical inputs, prepare the media, reserve a budget slot,
// wait for the shared limiter, call IVS once, and store the outcome with
// the attempt. It is the whole worker logic without the queue. What each
// outcome means is decided in one place (Config.Decide); the processor
// carries it out, one handler per action (handlers.go). Build it with
// NewProcessor; its Config is embedded for reading.
type Processor struct {
	Config

	pre          *Prevalidator // fetch, prepare and check, before the call
	budgetLogged sync.Map      // batches whose "budget reached" this processor has logged
}

// Backoff is the delay before retry n of a task (the policy's backoff).
func (p *Processor) Backoff(n int) time.Duration { return p.Policy.Backoff(n) }

// Process runs the task for ref. It returns nil when the task is finished
// (whatever the record's outcome), or a *RetryLater.
func (p *Processor) Process(ctx context.Context, ref TaskRef) error {
	if p.pre == nil {
		return errors.New("pipeline: Processor not built with NewProcessor")
	}
	log := p.Log.With("record", ref.RecordID, "generation", ref.Generation)
	if err := p.accountOpen(ctx); err != nil {
		return err
	}
	rec, err := p.claim(ctx, log, ref)
	if rec == nil {
		return err
	}
	if p.Policy.Exhausted(rec.Attempts) {
		return p.handleExhausted(ctx, rec)
	}
	media, err := p.pre.fetch(ctx, rec)
	if err != nil {
		return p.notSent(ctx, log, rec, CodeInfraFetch, err)
	}
	if done, err := p.dedup(ctx, rec, media); done {
		return err
	}
	call, note, err := p.pre.prepare(ctx, rec, media)
	if err != nil {
		return p.notSent(ctx, log, rec, CodeInfraPrepare, err)
	}
	return p.call(ctx, log, rec, call, note)
}

// accountOpen returns a *RetryLater when the account's traffic is paused or
// its state cannot be read; the record is not touched.
func (p *Processor) accountOpen(ctx context.Context) error {
	code, _, paused, err := p.Account.Paused(ctx)
	if err != nil {
		return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "read account state", Err: err}
	}
	if paused {
		return &RetryLater{Delay: p.Decide(Event{Kind: EventPaused}).Delay, Reason: "account paused (" + code + ")",
			Err: ErrPaused}
	}
	return nil
}

// claim claims ref's record. A nil record ends the task with the returned
// error: nil when the task is dropped (the record is gone, final or at
// another generation), else a *RetryLater.
func (p *Processor) claim(ctx context.Context, log *slog.Logger, ref TaskRef) (*Record, error) {
	rec, err := p.Records.Claim(ctx, ref)
	switch {
	case err == nil:
		return rec, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTerminal), errors.Is(err, ErrStaleGeneration):
		log.Info("task dropped", "reason", err.Error())
		return nil, nil
	case errors.Is(err, ErrCallInFlight):
		// Another task's call for this record may be on the wire: look
		// again when it is over for certain; by then that task has stored
		// its outcome, or its attempt can be closed as possibly billed.
		delay := p.Policy.PauseWait
		if cif, ok := errors.AsType[*CallInFlight](err); ok {
			delay = cif.Wait + time.Second
		}
		log.Info("record left alone: a call for it may still be in flight", "retry_in", delay)
		return nil, &RetryLater{Delay: delay, Reason: "a call for this record may still be in flight", Err: err}
	}
	return nil, &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "claim record", Err: err}
}

// dedup looks for identical inputs (when configured). done is true when
// the task ends here, with err its result: rec waits for another record's
// verdict, reuses one, or the look-up failed.
func (p *Processor) dedup(ctx context.Context, rec *Record, media map[string][]byte) (done bool, err error) {
	if p.Dedup == nil {
		return false, nil
	}
	prior, wait, err := p.Dedup.Dedup(ctx, rec, InputDigests(p.Index, rec, media), p.DedupWindow)
	switch {
	case err != nil:
		return true, p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("look up identical inputs: %w", err))
	case wait:
		return true, p.settle(ctx, rec, kept(rec), p.Decide(Event{Kind: EventDuplicate}),
			"identical inputs are being verified by another record", nil)
	case prior != nil:
		return true, p.reuse(ctx, rec, prior)
	}
	return false, nil
}

// call sends c (and, after an auth refresh, once more) and hands the
// answer to the handler of the action the outcome table decides.
func (p *Processor) call(ctx context.Context, log *slog.Logger, rec *Record, c Call, note string) error {
	for refreshed := false; ; refreshed = true {
		attemptID, err := p.send(ctx, log, rec, c, note)
		if attemptID == 0 {
			return err
		}
		reply, callErr := p.Verifier.Verify(ctx, c)
		// From here on the call may have been paid for: every write uses a
		// live context even if the task's context ends (see finish).
		a := p.answer(rec, c, attemptID, reply, callErr, refreshed)
		log.Info("ivs call", "uuid", c.UUID, "class", a.out.Attempt.Class.String(), "code", a.out.Attempt.Code,
			"status", a.out.Attempt.HTTPStatus, "request_id", a.out.Attempt.RequestID)
		if a.d.Action != ActRefresh {
			return p.handle(ctx, a)
		}
		if resend, err := p.handleRefresh(ctx, log, a); !resend {
			return err
		}
	}
}

// send reserves a budget slot, waits for the shared limiter, looks at the
// account once more and marks the attempt in flight. It returns the
// attempt, or 0 and the task's result when the call must not go out.
func (p *Processor) send(ctx context.Context, log *slog.Logger, rec *Record, c Call, note string) (int64, error) {
	ep := c.Shape.Endpoint()
	attemptID, ok, err := p.Records.Reserve(ctx, AttemptStart{RecordID: rec.ID, BatchID: rec.BatchID,
		Generation: rec.Generation, UUID: c.UUID, Endpoint: ep, StartedAt: p.Now(), MediaNote: note})
	if err != nil {
		return 0, p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("reserve budget and attempt: %w", err))
	}
	if !ok {
		return 0, p.budgetExhausted(ctx, log, rec)
	}
	// The slot is held from here: every path sends or releases it.
	if err := p.waitLimiter(ctx, ep); err != nil {
		p.release(ctx, attemptID)
		return 0, p.infra(ctx, rec, CodeInfraLimiter, fmt.Errorf("rate limiter: %w", err))
	}
	// The wait may have been long: look at the account once more, so
	// that no call goes out after another worker paused traffic.
	if code, _, paused, err := p.Account.Paused(ctx); err != nil || paused {
		p.release(ctx, attemptID)
		return 0, p.pausedAfterClaim(ctx, rec, code, err)
	}
	if p.BeforeSend != nil {
		p.BeforeSend(ctx, rec)
	}
	if err := p.Records.Send(ctx, attemptID, p.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			// A redelivered task claimed the record and took the
			// reservation back: that task goes on, this one stops.
			log.Info("task dropped: the record was claimed again", "attempt", attemptID)
			return 0, nil
		}
		p.release(ctx, attemptID)
		return 0, p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("mark attempt in flight: %w", err))
	}
	return attemptID, nil
}

// waitLimiter waits for the shared limiter under LimiterTimeout.
func (p *Processor) waitLimiter(ctx context.Context, ep Endpoint) error {
	lctx, cancel := context.WithTimeout(ctx, p.LimiterTimeout)
	defer cancel()
	return p.Limiter.Wait(lctx, ep)
}

// release gives back a reserved, unsent attempt's slot. A failure is only
// logged: the next Claim of the record (or ops reconcile) deletes the
// reserved attempt and its slot all the same.
func (p *Processor) release(ctx context.Context, attemptID int64) {
	lctx, cancel := p.live(ctx)
	defer cancel()
	if err := p.Records.Release(lctx, attemptID); err != nil {
		p.Log.Warn("release budget slot; the next claim releases it", "attempt", attemptID, "err", err)
	}
}

// settle stores rec's outcome o with the status and count d decides and
// says what the task does next: nil once the record is final, else a
// *RetryLater after d's delay (with reason and cause).
func (p *Processor) settle(ctx context.Context, rec *Record, o Outcome, d Decision, reason string, cause error) error {
	o.Status, o.CountAttempt = d.Status, d.Count
	if err := p.finish(ctx, rec, o); err != nil || d.Status.Terminal() {
		return err
	}
	return &RetryLater{Delay: d.Delay, Failure: d.Failure, Reason: reason, Err: cause}
}

// kept is an outcome for rec without a call that keeps its last error.
func kept(rec *Record) Outcome {
	return Outcome{RecordID: rec.ID, Generation: rec.Generation, ErrorCode: rec.LastErrorCode,
		ErrorMessage: rec.LastErrorMessage}
}

// live returns a context that outlives ctx's cancellation (the task ended,
// the worker is stopping) but not StoreRetry plus a margin: outcome writes
// after a call or a failure must still happen.
func (p *Processor) live(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.StoreRetry+30*time.Second)
}

// finish stores o, its messages scrubbed of rec's personal data
// (Record.Scrub), under a live context, retrying while Postgres is
// unavailable. A record that is already terminal (a redelivered task), at
// another generation or gone is not an error: the outcome is not applied.
func (p *Processor) finish(ctx context.Context, rec *Record, o Outcome) error {
	o.ErrorMessage, o.Attempt.Message = rec.Scrub(o.ErrorMessage), rec.Scrub(o.Attempt.Message)
	lctx, cancel := p.live(ctx)
	defer cancel()
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 200*time.Millisecond, 5*time.Second, p.StoreRetry
	err := backoff.Retry(func() error {
		err := p.Records.Finish(lctx, o)
		if notApplied(err) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, lctx))
	switch {
	case err == nil:
		return nil
	case notApplied(err):
		p.Log.Info("outcome not applied", "record", o.RecordID, "reason", err.Error())
		return nil
	}
	p.Log.Error("store outcome failed; the task will run again", "record", o.RecordID, "err", err)
	return &RetryLater{Delay: p.Policy.Backoff(3), Failure: true, Reason: "store outcome", Err: err}
}

// notApplied reports whether Finish refused an outcome for good.
func notApplied(err error) bool {
	return errors.Is(err, ErrTerminal) || errors.Is(err, ErrStaleGeneration) || errors.Is(err, ErrNotFound)
}
