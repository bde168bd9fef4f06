package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// The handlers carry out what the outcome table (Config.Decide) decided:
// one per action after a call, and one per event that ends a task before a
// call. None of them decides a status.

// answered is one call's answer: the record it was for, the outcome to
// store (the attempt completed, the error as the record's last error) and
// what the outcome table decided.
type answered struct {
	rec   *Record
	call  Call
	reply *Reply // the verdict, or nil
	err   error  // the failure, or nil
	out   Outcome
	d     Decision
}

// answer reads a call's answer into the outcome to store and decides it.
func (p *Processor) answer(rec *Record, c Call, attemptID int64, reply *Reply, err error, refreshed bool) *answered {
	ev := Event{Kind: EventCall, Class: ClassOf(err), Attempts: rec.Attempts, Refreshed: refreshed}
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: attemptID,
		Attempt: AttemptResult{FinishedAt: p.Now(), Class: ev.Class}}
	switch ce := CallErrorOf(err); {
	case ce != nil:
		o.Attempt.HTTPStatus, o.Attempt.Code, o.Attempt.Message = ce.HTTPStatus, ce.Code, ce.Message
		o.Attempt.RequestID, o.Attempt.Billed, o.Attempt.PossiblyBilled = ce.RequestID, ce.HTTPStatus == 200, ce.PossiblyBilled
		o.ErrorCode, o.ErrorMessage = ce.Code, err.Error()
	case reply != nil && reply.Verdict.Code != nil:
		ev.Code = *reply.Verdict.Code
		o.Attempt.HTTPStatus, o.Attempt.RequestID, o.Attempt.Billed = reply.HTTPStatus, reply.RequestID, true
		o.Attempt.Code, o.Attempt.Message = strconv.Itoa(ev.Code), reply.Verdict.Message
	}
	return &answered{rec: rec, call: c, reply: reply, err: err, out: o, d: p.Decide(ev)}
}

// handle runs the handler of the decided action (ActRefresh aside: the
// caller resends).
func (p *Processor) handle(ctx context.Context, a *answered) error {
	switch a.d.Action {
	case ActFinal:
		if a.reply != nil {
			return p.handleVerdict(ctx, a)
		}
		return p.handleFailed(ctx, a)
	case ActSlow:
		return p.handleThrottled(ctx, a)
	case ActPause:
		return p.handlePause(ctx, a)
	}
	return p.handleRetry(ctx, a)
}

// handleVerdict stores the verdict (and keeps the liveness picture when
// configured): the record is done, or set aside for review.
func (p *Processor) handleVerdict(ctx context.Context, a *answered) error {
	a.out.Verdict = a.reply.Verdict
	a.out.Verdict.PictureRef = p.keepPicture(ctx, a.rec, a.reply.Picture)
	return p.settle(ctx, a.rec, a.out, a.d, "", nil)
}

// handleFailed stores a final answer without a verdict (billed_odd, an
// input error), or a retry whose attempts ran out: the record fails with
// the answer's code.
func (p *Processor) handleFailed(ctx context.Context, a *answered) error {
	if a.d.GaveUp {
		a.out.ErrorMessage = fmt.Sprintf("gave up after %d attempts: %s", a.rec.Attempts+1, a.out.ErrorMessage)
	}
	return p.settle(ctx, a.rec, a.out, a.d, "", nil)
}

// handleRetry stores a counted failure (transient, ambiguous, unknown) and
// runs the task again after the backoff.
func (p *Processor) handleRetry(ctx context.Context, a *answered) error {
	return p.settle(ctx, a.rec, a.out, a.d, a.out.Attempt.Class.String(), a.err)
}

// handleThrottled tells the shared limiter to slow down and runs the task
// again soon; nothing counts.
func (p *Processor) handleThrottled(ctx context.Context, a *answered) error {
	lctx, cancel := p.live(ctx)
	p.Limiter.Throttled(lctx, a.call.Shape.Endpoint())
	cancel()
	return p.settle(ctx, a.rec, a.out, a.d, "throttled", a.err)
}

// handlePause stores the refused call and pauses the account's traffic.
func (p *Processor) handlePause(ctx context.Context, a *answered) error {
	a.out.Status, a.out.CountAttempt = a.d.Status, a.d.Count
	if err := p.finish(ctx, a.rec, a.out); err != nil {
		return err
	}
	return p.pause(ctx, a.rec, a.out.ErrorCode, a.out.ErrorMessage, a.d)
}

// handleRefresh stores the refused call (in flight, uncounted) and
// refreshes the credentials: resend is true when the call goes out again.
// A failed refresh ends the task as the table decides: the account paused
// when the credentials are refused, else the record back to the queue.
func (p *Processor) handleRefresh(ctx context.Context, log *slog.Logger, a *answered) (resend bool, err error) {
	a.out.Status, a.out.CountAttempt = a.d.Status, a.d.Count
	if err := p.finish(ctx, a.rec, a.out); err != nil {
		return false, err
	}
	err = p.Verifier.RefreshAuth(ctx)
	if err == nil {
		return true, nil
	}
	log.Warn("credential refresh failed", "err", err)
	ce := CallErrorOf(err)
	d := p.Decide(Event{Kind: EventRefreshFailed, Class: ce.Class})
	if d.Action == ActPause {
		return false, p.pause(ctx, a.rec, ce.Code, err.Error(), d)
	}
	o := kept(a.rec)
	o.ErrorCode, o.ErrorMessage = ce.Code, err.Error()
	return false, p.settle(ctx, a.rec, o, d, "refresh credentials", err)
}

// pause stores the account-wide stop and pauses the queue; the record goes
// back to queued, its attempt not counted, to resume when an operator lifts
// the pause.
func (p *Processor) pause(ctx context.Context, rec *Record, code, reason string, d Decision) error {
	lctx, cancel := p.live(ctx)
	defer cancel()
	reason = rec.Scrub(reason)
	p.Log.Error("account-wide stop: pausing all IVS traffic", "code", code, "reason", reason)
	if err := p.Account.SetPaused(lctx, code, reason); err != nil {
		return &RetryLater{Delay: d.Delay, Failure: true, Reason: "store pause", Err: err}
	}
	if p.PauseQueue != nil {
		if err := p.PauseQueue(lctx); err != nil {
			p.Log.Error("pause queue", "err", err)
		}
	}
	o := kept(rec)
	o.ErrorCode, o.ErrorMessage = code, reason
	return p.settle(ctx, rec, o, d, "account paused ("+code+")", ErrPaused)
}

// pausedAfterClaim ends a task that found the account paused (or could not
// read its state) after claiming rec: the record goes back to the queue.
func (p *Processor) pausedAfterClaim(ctx context.Context, rec *Record, code string, err error) error {
	if err != nil {
		return p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("read account state: %w", err))
	}
	return p.settle(ctx, rec, kept(rec), p.Decide(Event{Kind: EventPaused}), "account paused ("+code+")", ErrPaused)
}

// handleExhausted fails a record whose attempts were used up before this
// task (a redelivery after the last one): nothing is sent.
func (p *Processor) handleExhausted(ctx context.Context, rec *Record) error {
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, ErrorCode: orDefault(rec.LastErrorCode, "attempts.exhausted"),
		ErrorMessage: fmt.Sprintf("gave up after %d attempts: %s", rec.Attempts, rec.LastErrorMessage)}
	return p.settle(ctx, rec, o, p.Decide(Event{Kind: EventExhausted, Attempts: rec.Attempts}), "", nil)
}

// budgetExhausted fails rec with ErrorBudgetExhausted: nothing is sent.
func (p *Processor) budgetExhausted(ctx context.Context, log *slog.Logger, rec *Record) error {
	if _, seen := p.budgetLogged.LoadOrStore(rec.BatchID, true); !seen {
		p.Log.Warn("budget reached: no more IVS calls for this batch", "batch", rec.BatchID)
	}
	log.Info("record not sent: batch budget reached", "batch", rec.BatchID)
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, ErrorCode: ErrorBudgetExhausted,
		ErrorMessage: "the batch's budget of billed calls is used up; raise it (ops budget) and run ops requeue -code " +
			ErrorBudgetExhausted}
	return p.settle(ctx, rec, o, p.Decide(Event{Kind: EventBudget}), "", nil)
}

// notSent ends the task after a fetch or prepare error: the record is
// rejected when the input is at fault, otherwise it is infrastructure
// trouble under code.
func (p *Processor) notSent(ctx context.Context, log *slog.Logger, rec *Record, code string, err error) error {
	rej, ok := errors.AsType[Rejection](err)
	if !ok {
		return p.infra(ctx, rec, code, err)
	}
	log.Info("record rejected before calling IVS", "code", rej.RejectCode())
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, ErrorCode: rej.RejectCode(), ErrorMessage: rej.Error()}
	return p.settle(ctx, rec, o, p.Decide(Event{Kind: EventRejected}), "", nil)
}

// infra handles infrastructure trouble (not the input's fault, no call
// made): the record goes back to the queue, counted toward its infra bound
// and retried with backoff; past the bound it ends failed with code. A
// worker shutting down (the task's context cancelled) is not trouble: the
// record just goes back, uncounted. Postgres counts these failures; the
// queue does not (they are not asynq failures).
func (p *Processor) infra(ctx context.Context, rec *Record, code string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return p.settle(ctx, rec, kept(rec), p.Decide(Event{Kind: EventStopping}), "worker stopping", err)
	}
	now := p.Now()
	n, since := rec.InfraFailures+1, now
	if rec.InfraSince != nil {
		since = *rec.InfraSince
	}
	d := p.Decide(Event{Kind: EventInfra, InfraFailures: n, InfraAge: now.Sub(since)})
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, Infra: !d.GaveUp, ErrorCode: code, ErrorMessage: err.Error()}
	if d.GaveUp {
		p.Log.Warn("infrastructure trouble outlasted its bound: record failed", "record", rec.ID, "code", code,
			"failures", n, "err", err)
		o.ErrorMessage = fmt.Sprintf("gave up after %d infrastructure failures over %s: %v; "+
			"when fixed, run ops requeue -code %s", n, now.Sub(since).Round(time.Second), err, code)
	}
	return p.settle(ctx, rec, o, d, code, err)
}

// keepPicture stores the liveness picture when configured and returns its
// reference. A failure is logged and the verdict stored without it: the
// call was paid for and the picture is optional.
func (p *Processor) keepPicture(ctx context.Context, rec *Record, jpeg []byte) string {
	if p.Pictures == nil || len(jpeg) == 0 {
		return ""
	}
	lctx, cancel := p.live(ctx)
	defer cancel()
	ref, err := p.Pictures.SavePicture(lctx, rec.Task(), jpeg)
	if err != nil {
		p.Log.Warn("liveness picture not kept", "record", rec.ID, "err", err)
		return ""
	}
	return ref
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
