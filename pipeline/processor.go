package pipeline

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// DefaultFetchLimit bounds what is read of one media object (a phone video
// can be large; what IVS accepts is far smaller and comes out of Prepare).
const DefaultFetchLimit = 64 << 20

// Processor handles one queued record: claim it, fetch and prepare its media,
// wait for the shared limiter, call IVS once, and store the outcome with the
// attempt. It is the whole worker logic without the queue.
type Processor struct {
	Records  RecordStore
	Account  AccountState
	Verifier Verifier
	Fetcher  Fetcher
	Preparer Preparer
	Limiter  Limiter
	Policy   Policy
	// PauseQueue stops every worker from taking tasks (asynq's queue pause);
	// called after an account-wide stop is stored. May be nil.
	PauseQueue func(ctx context.Context) error
	Log        *slog.Logger
	// FetchLimit bounds one media object (default DefaultFetchLimit).
	FetchLimit int64
	// StoreRetry is how long a failing outcome write is retried before the
	// task is given up (default 2 min): the call was already paid for.
	StoreRetry time.Duration
	// Dedup, when set, links a record to an earlier outcome of the same
	// person instead of paying again (unless the record is forced to
	// re-verify). DedupWindow bounds how old a reused valid verdict may be.
	Dedup       Deduper
	DedupWindow time.Duration
	// Pictures, when set, keeps the liveness picture of video verdicts in
	// object storage; nil drops it (the default: keep the minimum).
	Pictures PictureStore
	// Budget, when set, caps the billed calls per batch (nil: no caps). A
	// record whose batch's budget is used up is finished as failed with
	// ErrorBudgetExhausted, resumable with ops requeue.
	Budget Budget

	budgetLogged sync.Map // batches whose "budget reached" this processor has logged
}

// Process runs the task for ref. It returns nil when the task is finished
// (whatever the record's outcome), or a *RetryLater.
func (p *Processor) Process(ctx context.Context, ref TaskRef) error {
	log := p.log().With("record", ref.RecordID, "generation", ref.Generation)
	if code, _, paused, err := p.Account.Paused(ctx); err != nil {
		return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "read account state", Err: err}
	} else if paused {
		return &RetryLater{Delay: p.Policy.PauseWait, Reason: "account paused (" + code + ")", Err: ErrPaused}
	}
	rec, err := p.Records.Claim(ctx, ref)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTerminal), errors.Is(err, ErrStaleGeneration):
		log.Info("task dropped", "reason", err.Error())
		return nil
	case err != nil:
		return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "claim record", Err: err}
	}
	if rec.Attempts >= p.Policy.MaxAttempts {
		return p.finish(ctx, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusFailed,
			ErrorCode:    cmp.Or(rec.LastErrorCode, "attempts.exhausted"),
			ErrorMessage: fmt.Sprintf("gave up after %d attempts: %s", rec.Attempts, rec.LastErrorMessage)})
	}
	if p.Dedup != nil && !rec.Reverify {
		prior, wait, err := p.Dedup.Earlier(ctx, rec, p.DedupWindow)
		switch {
		case err != nil:
			return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "look up earlier outcomes", Err: err}
		case wait:
			if err := p.requeue(ctx, rec, false, rec.LastErrorCode, rec.LastErrorMessage); err != nil {
				return err
			}
			return &RetryLater{Delay: time.Second, Reason: "the same input is being verified by an earlier record"}
		case prior != nil:
			return p.reuse(ctx, rec, prior)
		}
	}
	req, note, err := p.buildRequest(ctx, rec)
	if err != nil {
		var rej Rejection
		if errors.As(err, &rej) {
			log.Info("record rejected before calling IVS", "code", rej.RejectCode())
			return p.finish(ctx, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusRejected,
				ErrorCode: rej.RejectCode(), ErrorMessage: rej.Error()})
		}
		// Storage or tooling trouble, not the input's fault: try again later
		// without spending one of the record's attempts.
		if rerr := p.requeue(ctx, rec, false, "prepare", err.Error()); rerr != nil {
			return rerr
		}
		return &RetryLater{Delay: p.Policy.Backoff(2), Failure: true, Reason: "prepare media", Err: err}
	}
	return p.call(ctx, log, rec, req, note)
}

// call sends req (and, after an auth refresh, once more) and stores the outcome.
func (p *Processor) call(ctx context.Context, log *slog.Logger, rec *Record, req ivs.Request, note string) error {
	refreshed := false
	for {
		if done, err := p.reserveBudget(ctx, log, rec); done {
			return err
		}
		if err := p.Limiter.Wait(ctx, req.Shape.Endpoint()); err != nil {
			p.releaseBudget(ctx, rec, false)
			_ = p.requeue(context.WithoutCancel(ctx), rec, false, "limiter", err.Error())
			return &RetryLater{Delay: p.Policy.Backoff(1), Reason: "wait for the rate limiter", Err: err}
		}
		// The wait may have been long: look at the account once more, so
		// that no call goes out after another worker paused traffic.
		if code, _, paused, err := p.Account.Paused(ctx); err != nil || paused {
			p.releaseBudget(ctx, rec, false)
			if rerr := p.requeue(context.WithoutCancel(ctx), rec, false, rec.LastErrorCode, rec.LastErrorMessage); rerr != nil {
				return rerr
			}
			if err != nil {
				return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "read account state", Err: err}
			}
			return &RetryLater{Delay: p.Policy.PauseWait, Reason: "account paused (" + code + ")", Err: ErrPaused}
		}
		start := time.Now()
		attemptID, err := p.Records.StartAttempt(ctx, AttemptStart{RecordID: rec.ID, Generation: rec.Generation,
			UUID: req.UUID, Endpoint: req.Shape.Endpoint(), StartedAt: start, MediaNote: note})
		if err != nil {
			p.releaseBudget(ctx, rec, false)
			_ = p.requeue(context.WithoutCancel(ctx), rec, false, "store", err.Error())
			return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "write attempt", Err: err}
		}
		resp, callErr := p.Verifier.Do(ctx, req)
		// From here on the call may have been paid for: the outcome is
		// stored even if the task's context ends.
		sctx := context.WithoutCancel(ctx)
		class := ivs.Classify(callErr)
		o := Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: attemptID,
			Attempt: attemptResult(resp, callErr, class)}
		p.releaseBudget(sctx, rec, o.Attempt.Billed || o.Attempt.PossiblyBilled)
		action := p.Policy.Action(class)
		if action == ActRefresh && refreshed {
			action = ActPause // credentials refused even with a fresh token
		}
		log.Info("ivs call", "uuid", req.UUID, "class", class.String(), "code", o.Attempt.Code,
			"status", o.Attempt.HTTPStatus, "request_id", o.Attempt.RequestID)
		switch action {
		case ActFinal:
			return p.finishFinal(sctx, rec, o, resp, callErr, class)
		case ActRefresh:
			o.Status, o.ErrorCode, o.ErrorMessage = StatusInFlight, o.Attempt.Code, errText(callErr)
			if err := p.finish(sctx, o); err != nil {
				return err
			}
			if err := p.Verifier.RefreshAuth(ctx); err != nil {
				log.Warn("credential refresh failed", "err", err)
				if ivs.Classify(err) == ivs.ClassAccountStop {
					return p.pause(sctx, rec, ivs.ErrorCode(err), err.Error())
				}
				if rerr := p.requeue(sctx, rec, false, ivs.ErrorCode(err), err.Error()); rerr != nil {
					return rerr
				}
				return &RetryLater{Delay: p.Policy.Backoff(2), Failure: true, Reason: "refresh credentials", Err: err}
			}
			refreshed = true
			continue
		case ActSlow:
			p.Limiter.Throttled(sctx, req.Shape.Endpoint())
			o.Status, o.ErrorCode, o.ErrorMessage = StatusQueued, o.Attempt.Code, errText(callErr)
			if err := p.finish(sctx, o); err != nil {
				return err
			}
			return &RetryLater{Delay: p.Policy.Throttle(), Reason: "throttled", Err: callErr}
		case ActPause:
			o.Status, o.ErrorCode, o.ErrorMessage = StatusQueued, o.Attempt.Code, errText(callErr)
			if err := p.finish(sctx, o); err != nil {
				return err
			}
			return p.pause(sctx, rec, o.Attempt.Code, errText(callErr))
		default: // ActRetry
			o.CountAttempt = true
			o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			if rec.Attempts+1 >= p.Policy.MaxAttempts {
				o.Status = StatusFailed
				o.ErrorMessage = fmt.Sprintf("gave up after %d attempts: %s", rec.Attempts+1, o.ErrorMessage)
				return p.finish(sctx, o)
			}
			o.Status = StatusQueued
			if err := p.finish(sctx, o); err != nil {
				return err
			}
			return &RetryLater{Delay: p.Policy.Backoff(rec.Attempts + 1), Failure: true, Reason: class.String(), Err: callErr}
		}
	}
}

// finishFinal stores a final outcome: the verdict of a 200, or the code of a
// refused request. Verdicts 3001 and 2006 are set aside for review.
func (p *Processor) finishFinal(ctx context.Context, rec *Record, o Outcome, resp *ivs.Response, callErr error, class ivs.Class) error {
	o.CountAttempt = true
	if class == ivs.ClassVerdict && resp != nil {
		o.Verdict = verdictOf(resp.Result)
		o.Verdict.PictureRef = p.keepPicture(ctx, rec, resp.Result.VideoResult)
		o.Status = StatusDone
		if c := resp.Result.VerificationCode; c == 3001 || c == 2006 {
			o.Status = StatusReview
		}
		return p.finish(ctx, o)
	}
	o.Status, o.ErrorCode, o.ErrorMessage = StatusFailed, o.Attempt.Code, errText(callErr)
	return p.finish(ctx, o)
}

// pause stores the account-wide stop and pauses the queue; the record goes
// back to queued, its attempt not counted, to resume when an operator lifts
// the pause.
func (p *Processor) pause(ctx context.Context, rec *Record, code, reason string) error {
	p.log().Error("account-wide stop: pausing all IVS traffic", "code", code, "reason", reason)
	if err := p.Account.SetPaused(ctx, code, reason); err != nil {
		return &RetryLater{Delay: p.Policy.PauseWait, Failure: true, Reason: "store pause", Err: err}
	}
	if p.PauseQueue != nil {
		if err := p.PauseQueue(ctx); err != nil {
			p.log().Error("pause queue", "err", err)
		}
	}
	if err := p.requeue(ctx, rec, false, code, reason); err != nil {
		return err
	}
	return &RetryLater{Delay: p.Policy.PauseWait, Reason: "account paused (" + code + ")", Err: ErrPaused}
}

// requeue puts the record back to queued without an attempt row.
func (p *Processor) requeue(ctx context.Context, rec *Record, count bool, code, msg string) error {
	return p.finish(ctx, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusQueued,
		CountAttempt: count, ErrorCode: code, ErrorMessage: msg})
}

// finish stores o, retrying while Postgres is unavailable. A record that is
// already terminal (a redelivered task) is not an error.
func (p *Processor) finish(ctx context.Context, o Outcome) error {
	limit := p.StoreRetry
	if limit == 0 {
		limit = 2 * time.Minute
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 200*time.Millisecond, 5*time.Second, limit
	err := backoff.Retry(func() error {
		err := p.Records.Finish(ctx, o)
		if errors.Is(err, ErrTerminal) || errors.Is(err, ErrStaleGeneration) || errors.Is(err, ErrNotFound) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, ctx))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTerminal), errors.Is(err, ErrStaleGeneration), errors.Is(err, ErrNotFound):
		p.log().Info("outcome not applied", "record", o.RecordID, "reason", err.Error())
		return nil
	}
	p.log().Error("store outcome failed; the task will run again", "record", o.RecordID, "err", err)
	return &RetryLater{Delay: p.Policy.Backoff(3), Failure: true, Reason: "store outcome", Err: err}
}

func (p *Processor) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// buildRequest fetches and prepares the record's media and assembles the
// IVS request. Input problems come back as a Rejection.
func (p *Processor) buildRequest(ctx context.Context, rec *Record) (ivs.Request, string, error) {
	item := ivs.Item{NodThreshold: rec.NodThreshold, Detail: rec.Detail, Crop: rec.Crop}
	if rec.Shape.UsesText() {
		item.VerificationName, item.VerificationID = rec.Name, rec.IDNumber
	}
	if rec.Shape.UsesVideo() {
		item.Actions = rec.Actions
	}
	media := []struct {
		ref  string
		kind MediaKind
		dst  *string
		name string
	}{
		{rec.IDCard1, MediaIDCardImage, &item.IDCardImage1, "idcard_image1"},
		{rec.IDCard2, MediaIDCardImage, &item.IDCardImage2, "idcard_image2"},
		{rec.FaceImage, MediaFaceImage, &item.FaceImage, "face_image"},
		{rec.Video, MediaVideo, &item.Video, "video"},
	}
	var notes []string
	for _, m := range media {
		if m.ref == "" {
			continue
		}
		limit := p.FetchLimit
		if limit == 0 {
			limit = DefaultFetchLimit
		}
		data, err := p.Fetcher.Fetch(ctx, m.ref, limit)
		if err != nil {
			return ivs.Request{}, "", fmt.Errorf("%s: %w", m.name, err)
		}
		prep, err := p.Preparer.Prepare(ctx, m.kind, data)
		if err != nil {
			return ivs.Request{}, "", fieldError(m.name, err)
		}
		*m.dst = base64.StdEncoding.EncodeToString(prep.Data)
		notes = append(notes, m.name+": "+prep.Note)
	}
	req := ivs.Request{Shape: rec.Shape, UUID: rec.Task().UUID(), Item: item}
	if err := ivs.ValidateRequest(req); err != nil {
		return req, "", err // *ivs.RequestError is a Rejection
	}
	return req, joinNotes(notes), nil
}

// fieldError prefixes a rejection's message with the field, keeping its code.
func fieldError(field string, err error) error {
	var rej Rejection
	if errors.As(err, &rej) {
		return &fieldRejection{field: field, Rejection: rej}
	}
	return fmt.Errorf("%s: %w", field, err)
}

type fieldRejection struct {
	field string
	Rejection
}

func (f *fieldRejection) Error() string { return f.field + ": " + f.Rejection.Error() }
func (f *fieldRejection) Unwrap() error { return f.Rejection }

func attemptResult(resp *ivs.Response, err error, class ivs.Class) AttemptResult {
	a := AttemptResult{FinishedAt: time.Now(), Class: class, Code: ivs.ErrorCode(err)}
	var e *ivs.Error
	var te *ivs.TransportError
	switch {
	case err == nil && resp != nil:
		a.HTTPStatus, a.RequestID, a.Billed = resp.HTTPStatus, resp.RequestID, true
		a.Code = fmt.Sprint(resp.Result.VerificationCode)
		a.Message = resp.Result.VerificationMessage
	case errors.As(err, &e):
		a.HTTPStatus, a.RequestID, a.Message = e.Status, e.RequestID, e.Message
		a.Billed = e.Status == 200
	case errors.As(err, &te):
		a.Message = te.Error()
		a.PossiblyBilled = te.Sent
	default:
		a.Message = errText(err)
	}
	return a
}

func verdictOf(r ivs.Result) Verdict {
	code := r.VerificationCode
	v := Verdict{Result: r.VerificationResult, Code: &code, Message: r.VerificationMessage, IDCardResult: r.IDCardResult}
	if r.Similarity != nil {
		s := float64(*r.Similarity)
		v.Similarity = &s
	}
	if r.VideoResult != nil {
		alive := r.VideoResult.Alive
		v.VideoAlive = &alive
		v.VideoActions = r.VideoResult.Actions
		if v.VideoActions == nil {
			v.VideoActions = []ivs.ActionResult{}
		}
	}
	return v
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func joinNotes(n []string) string {
	out := ""
	for i, s := range n {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

// reserveBudget takes a call slot of rec's batch when p.Budget is set. When
// the budget is used up it finishes rec as failed with ErrorBudgetExhausted
// and returns done = true with the task's result.
func (p *Processor) reserveBudget(ctx context.Context, log *slog.Logger, rec *Record) (done bool, err error) {
	if p.Budget == nil {
		return false, nil
	}
	ok, err := p.Budget.Allow(ctx, rec.BatchID)
	if err != nil {
		_ = p.requeue(context.WithoutCancel(ctx), rec, false, "store", err.Error())
		return true, &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "reserve budget", Err: err}
	}
	if ok {
		return false, nil
	}
	if _, seen := p.budgetLogged.LoadOrStore(rec.BatchID, true); !seen {
		p.log().Warn("budget reached: no more IVS calls for this batch", "batch", rec.BatchID)
	}
	log.Info("record not sent: batch budget reached", "batch", rec.BatchID)
	return true, p.finish(ctx, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusFailed,
		ErrorCode: ErrorBudgetExhausted, ErrorMessage: "the batch's budget of billed calls is used up; " +
			"raise it (ops budget) and run ops requeue -code " + ErrorBudgetExhausted})
}

// releaseBudget gives back the slot reserveBudget took, unless the call was
// (possibly) billed.
func (p *Processor) releaseBudget(ctx context.Context, rec *Record, billed bool) {
	if p.Budget == nil || billed {
		return
	}
	if err := p.Budget.Release(context.WithoutCancel(ctx), rec.BatchID); err != nil {
		p.log().Warn("release budget slot", "batch", rec.BatchID, "err", err)
	}
}

// Prevalidate fetches and prepares rec's media and checks the request IVS
// would get, without calling IVS: what Process does before the call. Input
// problems come back as a Rejection; other errors are storage or tooling
// trouble. note says what was done to the media.
func (p *Processor) Prevalidate(ctx context.Context, rec *Record) (note string, err error) {
	_, note, err = p.buildRequest(ctx, rec)
	return note, err
}

// keepPicture stores the liveness picture when configured and returns its
// reference. A failure is logged and the verdict stored without it: the
// call was paid for and the picture is optional.
func (p *Processor) keepPicture(ctx context.Context, rec *Record, vr *ivs.VideoResult) string {
	if p.Pictures == nil || vr == nil || vr.Picture == "" {
		return ""
	}
	jpeg, err := base64.StdEncoding.DecodeString(vr.Picture)
	if err != nil {
		p.log().Warn("liveness picture is not base64; not kept", "record", rec.ID)
		return ""
	}
	ref, err := p.Pictures.SavePicture(ctx, rec.Task(), jpeg)
	if err != nil {
		p.log().Warn("liveness picture not kept", "record", rec.ID, "err", err)
		return ""
	}
	return ref
}
