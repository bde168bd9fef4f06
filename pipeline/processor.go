package pipeline

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// Processor handles one queued record: claim it, fetch its media, look for
// a verdict of identical inputs, prepare the media, reserve a budget slot,
// wait for the shared limiter, call IVS once, and store the outcome with
// the attempt. It is the whole worker logic without the queue. Build it with
// NewProcessor; its Config is embedded for reading.
type Processor struct {
	Config

	ready        bool
	budgetLogged sync.Map // batches whose "budget reached" this processor has logged
}

// Backoff is the delay before retry n of a task (the policy's backoff).
func (p *Processor) Backoff(n int) time.Duration { return p.Policy.Backoff(n) }

// Process runs the task for ref. It returns nil when the task is finished
// (whatever the record's outcome), or a *RetryLater.
func (p *Processor) Process(ctx context.Context, ref TaskRef) error {
	if !p.ready {
		return errors.New("pipeline: Processor not built with NewProcessor")
	}
	log := p.Log.With("record", ref.RecordID, "generation", ref.Generation)
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
	case errors.Is(err, ErrCallInFlight):
		// Another task's call for this record may be on the wire: look
		// again when it is over for certain; by then that task has stored
		// its outcome, or its attempt can be closed as possibly billed.
		delay := p.Policy.PauseWait
		if cif := (*CallInFlight)(nil); errors.As(err, &cif) {
			delay = cif.Wait + time.Second
		}
		log.Info("record left alone: a call for it may still be in flight", "retry_in", delay)
		return &RetryLater{Delay: delay, Reason: "a call for this record may still be in flight", Err: err}
	case err != nil:
		return &RetryLater{Delay: p.Policy.Backoff(1), Failure: true, Reason: "claim record", Err: err}
	}
	if rec.Attempts >= p.Policy.MaxAttempts {
		return p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusFailed,
			ErrorCode:    orDefault(rec.LastErrorCode, "attempts.exhausted"),
			ErrorMessage: fmt.Sprintf("gave up after %d attempts: %s", rec.Attempts, rec.LastErrorMessage)})
	}
	media, err := p.fetch(ctx, rec)
	if err != nil {
		return p.notSent(ctx, log, rec, CodeInfraFetch, err)
	}
	if p.Dedup != nil {
		prior, wait, err := p.Dedup.Dedup(ctx, rec, InputDigest(p.Index, rec, media), p.DedupWindow)
		switch {
		case err != nil:
			return p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("look up identical inputs: %w", err))
		case wait:
			if err := p.requeue(ctx, rec, rec.LastErrorCode, rec.LastErrorMessage); err != nil {
				return err
			}
			return &RetryLater{Delay: p.DedupWait, Reason: "identical inputs are being verified by another record"}
		case prior != nil:
			return p.reuse(ctx, rec, prior)
		}
	}
	req, note, err := p.prepare(ctx, rec, media)
	if err != nil {
		return p.notSent(ctx, log, rec, CodeInfraPrepare, err)
	}
	return p.call(ctx, log, rec, req, note)
}

// notSent finishes rec after a fetch or prepare error: rejected when the
// input is at fault, otherwise infrastructure trouble under code.
func (p *Processor) notSent(ctx context.Context, log *slog.Logger, rec *Record, code string, err error) error {
	var rej Rejection
	if errors.As(err, &rej) {
		log.Info("record rejected before calling IVS", "code", rej.RejectCode())
		return p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusRejected,
			ErrorCode: rej.RejectCode(), ErrorMessage: rej.Error()})
	}
	return p.infra(ctx, rec, code, err)
}

// infra handles infrastructure trouble (not the input's fault, no call
// made): the record goes back to the queue, counted toward its infra bound,
// and is retried with backoff; past the bound it ends failed with code.
// A worker shutting down (the task's context cancelled) is not trouble: the
// record just goes back, uncounted.
func (p *Processor) infra(ctx context.Context, rec *Record, code string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		if rerr := p.requeue(ctx, rec, rec.LastErrorCode, rec.LastErrorMessage); rerr != nil {
			return rerr
		}
		return &RetryLater{Delay: p.Policy.Backoff(1), Reason: "worker stopping", Err: err}
	}
	now := p.Now()
	n, since := rec.InfraFailures+1, now
	if rec.InfraSince != nil {
		since = *rec.InfraSince
	}
	if n >= p.InfraMaxTries || now.Sub(since) >= p.InfraMaxAge {
		p.Log.Warn("infrastructure trouble outlasted its bound: record failed", "record", rec.ID, "code", code,
			"failures", n, "err", err)
		return p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusFailed,
			ErrorCode: code, ErrorMessage: fmt.Sprintf("gave up after %d infrastructure failures over %s: %v; "+
				"when fixed, run ops requeue -code %s", n, now.Sub(since).Round(time.Second), err, code)})
	}
	if ferr := p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusQueued,
		Infra: true, ErrorCode: code, ErrorMessage: err.Error()}); ferr != nil {
		return ferr
	}
	// Postgres counts these; asynq must not archive the task for them.
	return &RetryLater{Delay: p.infraBackoff(n), Reason: code, Err: err}
}

// infraBackoff is the delay before retry n after infrastructure trouble:
// doubling from InfraBackoffBase up to InfraBackoffMax, with equal jitter so
// that the records of an outage do not all come back at once.
func (p *Processor) infraBackoff(n int) time.Duration {
	d := p.InfraBackoffBase << min(max(n-1, 0), 20)
	if d <= 0 || d > p.InfraBackoffMax {
		d = p.InfraBackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// call reserves a budget slot, waits for the limiter, sends req (and, after
// an auth refresh, once more) and stores the outcome.
func (p *Processor) call(ctx context.Context, log *slog.Logger, rec *Record, req ivs.Request, note string) error {
	refreshed := false
	for {
		attemptID, ok, err := p.Records.Reserve(ctx, AttemptStart{RecordID: rec.ID, BatchID: rec.BatchID,
			Generation: rec.Generation, UUID: req.UUID, Endpoint: req.Shape.Endpoint(), StartedAt: p.Now(), MediaNote: note})
		if err != nil {
			return p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("reserve budget and attempt: %w", err))
		}
		if !ok {
			return p.budgetExhausted(ctx, log, rec)
		}
		// The slot is held from here: every path sends or releases it.
		if err := p.waitLimiter(ctx, req.Shape.Endpoint()); err != nil {
			p.release(ctx, attemptID)
			return p.infra(ctx, rec, CodeInfraLimiter, fmt.Errorf("rate limiter: %w", err))
		}
		// The wait may have been long: look at the account once more, so
		// that no call goes out after another worker paused traffic.
		if code, _, paused, err := p.Account.Paused(ctx); err != nil || paused {
			p.release(ctx, attemptID)
			if err != nil {
				return p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("read account state: %w", err))
			}
			if rerr := p.requeue(ctx, rec, rec.LastErrorCode, rec.LastErrorMessage); rerr != nil {
				return rerr
			}
			return &RetryLater{Delay: p.Policy.PauseWait, Reason: "account paused (" + code + ")", Err: ErrPaused}
		}
		if p.BeforeSend != nil {
			p.BeforeSend(ctx, rec)
		}
		if err := p.Records.Send(ctx, attemptID, p.Now()); err != nil {
			if errors.Is(err, ErrNotFound) {
				// A redelivered task claimed the record and took the
				// reservation back: that task goes on, this one stops.
				log.Info("task dropped: the record was claimed again", "attempt", attemptID)
				return nil
			}
			p.release(ctx, attemptID)
			return p.infra(ctx, rec, CodeInfraStore, fmt.Errorf("mark attempt in flight: %w", err))
		}
		resp, callErr := p.Verifier.Do(ctx, req)
		// From here on the call may have been paid for: every write uses a
		// live context even if the task's context ends (see finish).
		class := ivs.Classify(callErr)
		o := Outcome{RecordID: rec.ID, Generation: rec.Generation, AttemptID: attemptID,
			Attempt: p.attemptResult(resp, callErr, class)}
		code := 0
		if resp != nil {
			code = resp.Result.VerificationCode
		}
		d := p.Policy.Decide(class, code)
		if d.Action == ActRefresh && refreshed {
			d = Decision{Action: ActPause, Status: StatusQueued} // refused even with a fresh token
		}
		log.Info("ivs call", "uuid", req.UUID, "class", class.String(), "code", o.Attempt.Code,
			"status", o.Attempt.HTTPStatus, "request_id", o.Attempt.RequestID)
		o.Status, o.CountAttempt = d.Status, d.Count
		switch d.Action {
		case ActFinal:
			if class == ivs.ClassVerdict && resp != nil {
				o.Verdict = verdictOf(resp.Result)
				o.Verdict.PictureRef = p.keepPicture(ctx, rec, resp.Result.VideoResult)
			} else {
				o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			}
			return p.finish(ctx, rec, o)
		case ActRefresh:
			o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			if err := p.finish(ctx, rec, o); err != nil {
				return err
			}
			if err := p.Verifier.RefreshAuth(ctx); err != nil {
				log.Warn("credential refresh failed", "err", err)
				if ivs.Classify(err) == ivs.ClassAccountStop {
					return p.pause(ctx, rec, ivs.ErrorCode(err), err.Error())
				}
				if rerr := p.requeue(ctx, rec, ivs.ErrorCode(err), err.Error()); rerr != nil {
					return rerr
				}
				return &RetryLater{Delay: p.Policy.Backoff(2), Failure: true, Reason: "refresh credentials", Err: err}
			}
			refreshed = true
			continue
		case ActSlow:
			lctx, cancel := p.live(ctx)
			p.Limiter.Throttled(lctx, req.Shape.Endpoint())
			cancel()
			o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			if err := p.finish(ctx, rec, o); err != nil {
				return err
			}
			return &RetryLater{Delay: p.Policy.Throttle(), Reason: "throttled", Err: callErr}
		case ActPause:
			o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			if err := p.finish(ctx, rec, o); err != nil {
				return err
			}
			return p.pause(ctx, rec, o.Attempt.Code, errText(callErr))
		default: // ActRetry
			o.ErrorCode, o.ErrorMessage = o.Attempt.Code, errText(callErr)
			if rec.Attempts+1 >= p.Policy.MaxAttempts {
				o.Status = StatusFailed
				o.ErrorMessage = fmt.Sprintf("gave up after %d attempts: %s", rec.Attempts+1, o.ErrorMessage)
				return p.finish(ctx, rec, o)
			}
			if err := p.finish(ctx, rec, o); err != nil {
				return err
			}
			return &RetryLater{Delay: p.Policy.Backoff(rec.Attempts + 1), Failure: true, Reason: class.String(), Err: callErr}
		}
	}
}

// waitLimiter waits for the shared limiter under LimiterTimeout.
func (p *Processor) waitLimiter(ctx context.Context, ep ivs.Endpoint) error {
	lctx, cancel := context.WithTimeout(ctx, p.LimiterTimeout)
	defer cancel()
	return p.Limiter.Wait(lctx, ep)
}

// budgetExhausted finishes rec as failed with ErrorBudgetExhausted.
func (p *Processor) budgetExhausted(ctx context.Context, log *slog.Logger, rec *Record) error {
	if _, seen := p.budgetLogged.LoadOrStore(rec.BatchID, true); !seen {
		p.Log.Warn("budget reached: no more IVS calls for this batch", "batch", rec.BatchID)
	}
	log.Info("record not sent: batch budget reached", "batch", rec.BatchID)
	return p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusFailed,
		ErrorCode: ErrorBudgetExhausted, ErrorMessage: "the batch's budget of billed calls is used up; " +
			"raise it (ops budget) and run ops requeue -code " + ErrorBudgetExhausted})
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

// pause stores the account-wide stop and pauses the queue; the record goes
// back to queued, its attempt not counted, to resume when an operator lifts
// the pause.
func (p *Processor) pause(ctx context.Context, rec *Record, code, reason string) error {
	lctx, cancel := p.live(ctx)
	defer cancel()
	reason = rec.Scrub(reason)
	p.Log.Error("account-wide stop: pausing all IVS traffic", "code", code, "reason", reason)
	if err := p.Account.SetPaused(lctx, code, reason); err != nil {
		return &RetryLater{Delay: p.Policy.PauseWait, Failure: true, Reason: "store pause", Err: err}
	}
	if p.PauseQueue != nil {
		if err := p.PauseQueue(lctx); err != nil {
			p.Log.Error("pause queue", "err", err)
		}
	}
	if err := p.requeue(ctx, rec, code, reason); err != nil {
		return err
	}
	return &RetryLater{Delay: p.Policy.PauseWait, Reason: "account paused (" + code + ")", Err: ErrPaused}
}

// requeue puts the record back to queued without an attempt row, uncounted.
func (p *Processor) requeue(ctx context.Context, rec *Record, code, msg string) error {
	return p.finish(ctx, rec, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: StatusQueued,
		ErrorCode: code, ErrorMessage: msg})
}

// live returns a context that outlives ctx's cancellation (the task ended,
// the worker is stopping) but not StoreRetry plus a margin: outcome writes
// after a call or a failure must still happen.
func (p *Processor) live(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.StoreRetry+30*time.Second)
}

// finish stores o, its messages scrubbed of rec's personal data
// (Record.Scrub), under a live context, retrying while Postgres is
// unavailable. A record that is already terminal (a redelivered task) is not
// an error.
func (p *Processor) finish(ctx context.Context, rec *Record, o Outcome) error {
	o.ErrorMessage, o.Attempt.Message = rec.Scrub(o.ErrorMessage), rec.Scrub(o.Attempt.Message)
	lctx, cancel := p.live(ctx)
	defer cancel()
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 200*time.Millisecond, 5*time.Second, p.StoreRetry
	err := backoff.Retry(func() error {
		err := p.Records.Finish(lctx, o)
		if errors.Is(err, ErrTerminal) || errors.Is(err, ErrStaleGeneration) || errors.Is(err, ErrNotFound) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, lctx))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTerminal), errors.Is(err, ErrStaleGeneration), errors.Is(err, ErrNotFound):
		p.Log.Info("outcome not applied", "record", o.RecordID, "reason", err.Error())
		return nil
	}
	p.Log.Error("store outcome failed; the task will run again", "record", o.RecordID, "err", err)
	return &RetryLater{Delay: p.Policy.Backoff(3), Failure: true, Reason: "store outcome", Err: err}
}

// mediaRef is one media field of a record.
type mediaRef struct {
	ref, name string
	kind      MediaKind
	dst       func(*ivs.Item) *string
}

func mediaOf(rec *Record) []mediaRef {
	all := []mediaRef{
		{rec.IDCard1, "idcard_image1", MediaIDCardImage, func(i *ivs.Item) *string { return &i.IDCardImage1 }},
		{rec.IDCard2, "idcard_image2", MediaIDCardImage, func(i *ivs.Item) *string { return &i.IDCardImage2 }},
		{rec.FaceImage, "face_image", MediaFaceImage, func(i *ivs.Item) *string { return &i.FaceImage }},
		{rec.Video, "video", MediaVideo, func(i *ivs.Item) *string { return &i.Video }},
	}
	var out []mediaRef
	for _, m := range all {
		if m.ref != "" {
			out = append(out, m)
		}
	}
	return out
}

// fetch reads every media object of rec under MediaTimeout, by field name.
// Input problems come back as a Rejection.
func (p *Processor) fetch(ctx context.Context, rec *Record) (map[string][]byte, error) {
	fctx, cancel := context.WithTimeout(ctx, p.MediaTimeout)
	defer cancel()
	out := map[string][]byte{}
	for _, m := range mediaOf(rec) {
		data, err := p.Fetcher.Fetch(fctx, m.ref, p.FetchLimit)
		if err != nil {
			return nil, fieldError(m.name, err)
		}
		out[m.name] = data
	}
	return out, nil
}

// prepare makes the fetched media ready for IVS under MediaTimeout and
// assembles the request. Input problems come back as a Rejection.
func (p *Processor) prepare(ctx context.Context, rec *Record, media map[string][]byte) (ivs.Request, string, error) {
	pctx, cancel := context.WithTimeout(ctx, p.MediaTimeout)
	defer cancel()
	item := ivs.Item{NodThreshold: rec.NodThreshold, Detail: rec.Detail, Crop: rec.Crop}
	if rec.Shape.UsesText() {
		item.VerificationName, item.VerificationID = rec.Name, rec.IDNumber
	}
	if rec.Shape.UsesVideo() {
		item.Actions = rec.Actions
	}
	var notes []string
	for _, m := range mediaOf(rec) {
		prep, err := p.Preparer.Prepare(pctx, m.kind, media[m.name])
		if err != nil {
			return ivs.Request{}, "", fieldError(m.name, err)
		}
		*m.dst(&item) = base64.StdEncoding.EncodeToString(prep.Data)
		notes = append(notes, m.name+": "+prep.Note)
	}
	req := ivs.Request{Shape: rec.Shape, UUID: rec.Task().UUID(), Item: item}
	if err := ivs.ValidateRequest(req); err != nil {
		return req, "", err // *ivs.RequestError is a Rejection
	}
	return req, strings.Join(notes, "; "), nil
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

func (p *Processor) attemptResult(resp *ivs.Response, err error, class ivs.Class) AttemptResult {
	a := AttemptResult{FinishedAt: p.Now(), Class: class, Code: ivs.ErrorCode(err)}
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

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Prevalidate fetches and prepares rec's media and checks the request IVS
// would get, without calling IVS: what Process does before the call. Input
// problems come back as a Rejection; other errors are storage or tooling
// trouble. note says what was done to the media.
func (p *Processor) Prevalidate(ctx context.Context, rec *Record) (note string, err error) {
	media, err := p.fetch(ctx, rec)
	if err != nil {
		return "", err
	}
	_, note, err = p.prepare(ctx, rec, media)
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
		p.Log.Warn("liveness picture is not base64; not kept", "record", rec.ID)
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
