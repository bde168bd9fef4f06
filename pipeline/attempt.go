package pipeline

import (
	"time"
)

// AttemptStart is written before an IVS call, so that a crash between the
// call and the commit of its outcome stays visible.
type AttemptStart struct {
	RecordID   int64
	BatchID    int64 // whose budget the attempt's slot is taken from
	Generation int
	UUID       string
	Endpoint   Endpoint
	StartedAt  time.Time
	MediaNote  string // what prevalidation did to the media (passed through, recompressed …)
}

// AttemptResult completes an attempt after the call returns.
type AttemptResult struct {
	FinishedAt     time.Time
	HTTPStatus     int    // 0 when no answer came
	Code           string // verification_code for a 200 (e.g. "1000"), else the normalised error code
	Message        string
	RequestID      string // X-Request-Id
	Class          Class
	Billed         bool // a 200
	PossiblyBilled bool // timed out or dropped after the request was written
}

// Outcome is applied to a record in one transaction with its attempt: the
// attempt (if AttemptID ≠ 0) is completed and the record is updated only if
// it is not already terminal and still at Generation.
type Outcome struct {
	RecordID     int64
	Generation   int
	AttemptID    int64 // 0 when no call was made (rejected before calling)
	Attempt      AttemptResult
	Status       Status // new status: a terminal one, or StatusQueued to retry
	CountAttempt bool   // false for throttled calls and pauses
	Verdict      Verdict
	ErrorCode    string // stored as last_error_code (a local reason code like "media.not_jpeg", or an IVS code)
	ErrorMessage string
	// Infra is set when the record goes back to the queue because of
	// infrastructure trouble (fetch, prepare, store, limiter): it counts
	// toward the record's infra bound. An outcome with a call resets it.
	Infra bool
	// LinkedRecordID is set when the verdict is reused from an earlier
	// record of the same person (dedup): nothing was sent.
	LinkedRecordID *int64
}
