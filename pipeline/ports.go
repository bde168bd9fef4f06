package pipeline

import (
	"context"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// RecordStore is what the worker needs from the record of truth.
type RecordStore interface {
	// Claim marks the record in_flight for generation gen and returns it.
	// It fails with ErrNotFound, ErrTerminal or ErrStaleGeneration. An attempt
	// left open by a crashed worker is closed as abandoned (possibly billed if
	// it was sent) and counts against the record's attempts.
	Claim(ctx context.Context, ref TaskRef) (*Record, error)
	// StartAttempt writes an in-flight attempt row and returns its id.
	StartAttempt(ctx context.Context, a AttemptStart) (int64, error)
	// Finish applies o in one transaction; see Outcome. It returns ErrTerminal
	// (and changes nothing on the record) when the record already had a final outcome.
	Finish(ctx context.Context, o Outcome) error
}

// FeedStore is what the feeder needs: claiming pending records for the queue.
type FeedStore interface {
	// ClaimPending moves up to n pending records of endpoint ep, oldest
	// first, to queued (FOR UPDATE SKIP LOCKED) and returns their task refs.
	ClaimPending(ctx context.Context, ep ivs.Endpoint, n int) ([]TaskRef, error)
}

// AccountState is the account-wide pause switch stored in Postgres, so that
// an account-wide stop survives restarts and is visible to operators.
type AccountState interface {
	SetPaused(ctx context.Context, code, reason string) error
	ClearPaused(ctx context.Context) error
	// Paused returns the code and reason of the current pause, or ok=false.
	Paused(ctx context.Context) (code, reason string, ok bool, err error)
}

// Verifier sends one request to IVS. *ivs.Client satisfies it.
type Verifier interface {
	Do(ctx context.Context, req ivs.Request) (*ivs.Response, error)
	// RefreshAuth discards cached credentials and fetches fresh ones (a no-op for AK/SK).
	RefreshAuth(ctx context.Context) error
}

// Fetcher reads an object reference (s3://bucket/key or file:///path), at
// most limit bytes; a larger object is an error, not a truncation.
type Fetcher interface {
	Fetch(ctx context.Context, ref string, limit int64) ([]byte, error)
}

// Limiter paces calls to one IVS endpoint across every worker process.
type Limiter interface {
	// Wait blocks until a call to endpoint may go out, or ctx ends.
	Wait(ctx context.Context, endpoint ivs.Endpoint) error
	// Throttled tells the limiter IVS answered 429, so every process slows down.
	Throttled(ctx context.Context, endpoint ivs.Endpoint)
}

// MediaKind says what a piece of media is for; limits differ by kind.
type MediaKind string

// Media kinds.
const (
	MediaFaceImage   MediaKind = "face_image"
	MediaIDCardImage MediaKind = "idcard_image"
	MediaVideo       MediaKind = "video"
)

// Prepared is media made ready for IVS, with a note of what was done to it
// ("passed through", "recompressed 5.1 MB → 610 KB at 2000×1500", …).
type Prepared struct {
	Data []byte
	Note string
}

// Preparer turns fetched media into what IVS accepts. Media that cannot be
// made acceptable fails with an error satisfying Rejection.
type Preparer interface {
	Prepare(ctx context.Context, kind MediaKind, data []byte) (Prepared, error)
}

// Rejection is an error that says a record's input is known to fail before
// calling IVS. RejectCode is a stable machine-readable reason, such as
// "media.not_image" or "media.too_small"; Error() is the human sentence.
type Rejection interface {
	error
	RejectCode() string
}

// Budget caps the billed calls of a batch (ops budget). A slot is reserved
// before every call and given back when the call was not billed, so that
// concurrent workers stop at exactly the cap.
type Budget interface {
	// Allow reserves one call slot of the batch's budget; ok is false when
	// the budget is used up (nothing is reserved then).
	Allow(ctx context.Context, batchID int64) (ok bool, err error)
	// Release gives back a slot reserved by Allow for a call that was not
	// billed (or not made).
	Release(ctx context.Context, batchID int64) error
}

// ErrorBudgetExhausted is the last_error_code of a record finished as failed
// because its batch's budget of billed calls was used up: after raising the
// budget, `ops requeue -batch ID -code budget.exhausted` resumes those records.
const ErrorBudgetExhausted = "budget.exhausted"

// PictureStore keeps the liveness picture IVS returns with a video verdict
// (a face: personal data), in object storage. Processor.Pictures is nil
// unless keeping pictures is configured; then the picture is dropped.
type PictureStore interface {
	// SavePicture stores jpeg for the record and returns its reference.
	SavePicture(ctx context.Context, ref TaskRef, jpeg []byte) (string, error)
}
