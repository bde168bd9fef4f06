package pipeline

import (
	"context"
	"time"
)

// RecordStore is what the worker needs from the record of truth.
type RecordStore interface {
	// Claim marks the record in_flight for generation gen and returns it.
	// It fails with ErrNotFound, ErrTerminal or ErrStaleGeneration, and with
	// a *CallInFlight while an attempt of the record in flight may still be
	// on the wire. A reserved attempt a crashed worker left is deleted (its
	// slot given back); one it left in flight is closed as abandoned,
	// possibly billed, and counts against the record's attempts.
	Claim(ctx context.Context, ref TaskRef) (*Record, error)
	// Reserve takes one call slot of the record's batch budget and writes
	// the attempt row (state reserved, not sent yet) in one transaction. ok
	// is false, and nothing is written, when the batch's cap is reached.
	// The slot stays taken until Release, or until Finish completes the
	// attempt as neither billed nor possibly billed; a reserved attempt a
	// crashed worker left is deleted by the next Claim, giving its slot back.
	Reserve(ctx context.Context, a AttemptStart) (attemptID int64, ok bool, err error)
	// Send marks a reserved attempt in flight, right before the call.
	Send(ctx context.Context, attemptID int64, at time.Time) error
	// Release deletes a reserved attempt that was never sent and gives its
	// slot back.
	Release(ctx context.Context, attemptID int64) error
	// Finish applies o in one transaction; see Outcome. Completing an
	// attempt that was neither billed nor possibly billed gives its budget
	// slot back in the same transaction. It returns ErrTerminal (and changes
	// nothing on the record) when the record already had a final outcome.
	Finish(ctx context.Context, o Outcome) error
}

// FeedStore is what the feeder needs: claiming pending records for the queue.
type FeedStore interface {
	// ClaimPending moves up to n pending records of endpoint ep, oldest
	// first, to queued (FOR UPDATE SKIP LOCKED) and returns their task refs.
	ClaimPending(ctx context.Context, ep Endpoint, n int) ([]TaskRef, error)
}

// AccountState is the account-wide pause switch stored in Postgres, so that
// an account-wide stop survives restarts and is visible to operators.
type AccountState interface {
	SetPaused(ctx context.Context, code, reason string) error
	ClearPaused(ctx context.Context) error
	// Paused returns the code and reason of the current pause, or ok=false.
	Paused(ctx context.Context) (code, reason string, ok bool, err error)
}

// Verifier sends calls to IVS. *ivs.Client satisfies it.
type Verifier interface {
	// Verify sends call once, never retrying. It returns the verdict, or an
	// error that is (or wraps) a *CallError saying what the failure means.
	Verify(ctx context.Context, call Call) (*Reply, error)
	// RefreshAuth discards cached credentials and fetches fresh ones (a
	// no-op for AK/SK). Its error is (or wraps) a *CallError.
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
	Wait(ctx context.Context, endpoint Endpoint) error
	// Throttled tells the limiter IVS answered 429, so every process slows down.
	Throttled(ctx context.Context, endpoint Endpoint)
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
// *rejection.Error is the one implementation ivsbatch's packages return
// (plus *RequestError for a request that breaks the API's rules).
type Rejection interface {
	error
	RejectCode() string
}

// ErrorBudgetExhausted is the last_error_code of a record finished as failed
// because its batch's budget of billed calls was used up: after raising the
// budget, `ops requeue -batch ID -code budget.exhausted` resumes those records.
const ErrorBudgetExhausted = "budget.exhausted"

// Indexer computes a keyed blind index (HMAC-SHA256 under the personal-data
// index key) of its parts. *pii.Keyring satisfies it.
type Indexer interface {
	Index(parts ...string) []byte
}

// PictureStore keeps the liveness picture IVS returns with a video verdict
// (a face: personal data), in object storage. Processor.Pictures is nil
// unless keeping pictures is configured; then the picture is dropped.
type PictureStore interface {
	// SavePicture stores jpeg for the record and returns its reference.
	SavePicture(ctx context.Context, ref TaskRef, jpeg []byte) (string, error)
}
