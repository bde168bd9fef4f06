// Package pipeline is the domain of ivsbatch: batches, records, attempts,
// their statuses and outcomes, the request shapes and outcome classes, and
// the small interfaces (ports) the worker and the feeder consume: a record
// store, a verifier, a media fetcher, a limiter. It owns the decision of
// what every event means for a record (the outcome table, outcome.go, with
// the retry rules of policy.go) and the processor that carries it out. It
// imports no adapter: store, ivs, objstore, media and ratelimit implement
// its ports; it does not own SQL, Redis, S3 or HTTP.
package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// Status is where a record stands.
type Status string

// Record statuses. Done, Rejected, Failed, Review and the two review
// decisions are terminal.
const (
	StatusPending  Status = "pending"   // stored, waiting for the feeder
	StatusQueued   Status = "queued"    // handed to the queue, or waiting there for a retry
	StatusInFlight Status = "in_flight" // a worker holds it; an attempt may be open
	StatusHeld     Status = "held"      // its batch is paused (ops pause): not claimed until ops resume
	StatusDone     Status = "done"      // a verdict (valid/invalid/nonexistent) is stored
	StatusRejected Status = "rejected"  // known to fail before any call; the reason is stored; nothing was sent
	StatusFailed   Status = "failed"    // IVS refused the input, or retries ran out; last code stored
	StatusReview   Status = "review"    // set aside for a human (IVS's verdict, if any, is kept)
	// A reviewer's decision on a record in review (ops review -decide):
	// final, and distinct from IVS's own verdict, which the record keeps.
	StatusReviewApproved Status = "review_approved"
	StatusReviewRejected Status = "review_rejected"
)

// TerminalStatuses are the statuses of a record with its final outcome;
// OpenStatuses the ones still moving. Together they are every status. Build
// SQL from these (status = ANY($n) with StatusStrings), never from literals.
var (
	TerminalStatuses = []Status{StatusDone, StatusRejected, StatusFailed, StatusReview, StatusReviewApproved,
		StatusReviewRejected}
	OpenStatuses = []Status{StatusPending, StatusQueued, StatusInFlight}
)

// StatusDisplayOrder is every status in the order operators read them:
// on their way, then final outcomes.
var StatusDisplayOrder = []Status{StatusPending, StatusQueued, StatusInFlight, StatusHeld, StatusDone, StatusReview,
	StatusReviewApproved, StatusReviewRejected, StatusRejected, StatusFailed}

// Terminal reports whether a record in status s has its final outcome.
func (s Status) Terminal() bool {
	for _, t := range TerminalStatuses {
		if s == t {
			return true
		}
	}
	return false
}

// StatusStrings converts statuses to strings, for a text[] query argument.
func StatusStrings(sts []Status) []string {
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = string(s)
	}
	return out
}

// Sentinel conditions, tested with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrTerminal        = errors.New("record already has its final outcome")
	ErrStaleGeneration = errors.New("task is for an older generation of the record")
	ErrPaused          = errors.New("account traffic is paused")
	// ErrCallInFlight: the record has an attempt in flight that started too
	// recently for its call to be over (another task of the same generation,
	// redelivered while the first still runs). The record is left alone:
	// two calls for one record never run at once.
	ErrCallInFlight = errors.New("a call for this record may still be in flight")
)

// CallInFlight is ErrCallInFlight with how long until the call in flight is
// over for certain (its attempt's start plus the call grace).
type CallInFlight struct{ Wait time.Duration }

func (e *CallInFlight) Error() string {
	return fmt.Sprintf("%v (over in %s at the latest)", ErrCallInFlight, e.Wait.Round(time.Second))
}

// Is makes errors.Is(err, ErrCallInFlight) true.
func (e *CallInFlight) Is(target error) bool { return target == ErrCallInFlight }

// Batch is one submitted manifest.
type Batch struct {
	ID             int64
	Name           string
	Source         string // where the manifest came from (path or s3:// URL)
	ManifestSHA256 string // identifies the manifest: re-submitting it finds this batch
	CreatedAt      time.Time
}

// Input is what a manifest row asks for, after validation and normalisation.
// Media fields are object references: s3://bucket/key or file:///abs/path.
type Input struct {
	Ref          string // the caller's key for the row, unique in its batch (manifest "ref", else the line number)
	Line         int    // line in the manifest, for messages
	Shape        Shape
	Name         string // verification_name (text shapes)
	IDNumber     string // verification_id, 18 characters (text shapes)
	IDCard1      string
	IDCard2      string
	FaceImage    string
	Video        string
	Actions      string // comma-separated action codes 1–5 (video shapes)
	NodThreshold *float64
	Detail       *bool
	Crop         *bool
	// Metadata is the customer's own columns of the row (a JSON object of
	// strings), kept opaque and returned by ops export; "" when none.
	Metadata string
}

// Record is a stored input with its current status and outcome.
type Record struct {
	ID      int64
	BatchID int64
	Input
	Status     Status
	Generation int // bumped when an operator re-runs the record on purpose
	Attempts   int // counted attempts (throttled calls are not counted)
	// Reverify is set when an operator forced a paid re-verification: the
	// record is not linked to an earlier outcome of the same person.
	Reverify bool
	// LinkedRecordID is the record whose outcome this one reuses (dedup).
	LinkedRecordID *int64
	Verdict
	LastErrorCode    string
	LastErrorMessage string
	// InfraFailures counts consecutive infrastructure failures (fetch,
	// prepare, store, limiter) since InfraSince; a call resets them.
	InfraFailures int
	InfraSince    *time.Time
	// PurgedAt is when the record's personal data was removed (its
	// retention passed, or ErasedAt: the person asked); only the verdict
	// remains.
	PurgedAt, ErasedAt *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	FinishedAt         *time.Time
}

// Task returns the queue reference for the record's current generation.
func (r *Record) Task() TaskRef {
	return TaskRef{RecordID: r.ID, Generation: r.Generation, Shape: r.Shape}
}

// Verdict is what IVS concluded, stored on the record.
type Verdict struct {
	Result       string   // valid, invalid, nonexistent; empty until there is a verdict
	Code         *int     // verification_code
	Message      string   // verification_message
	Similarity   *float64 // as sent (0–100, or 0–1000 with detail=true)
	IDCardResult *IDCardResult
	VideoAlive   *bool
	VideoActions []ActionResult
	// PictureRef is where the liveness picture was kept (object storage),
	// when keeping it is configured; the picture itself is never in Postgres.
	PictureRef string
}

// IDCardResult is IVS's reading (OCR) of the id card images, stored with
// the verdict (name, number and address sealed at rest).
type IDCardResult struct {
	Name      string `json:"name"`
	Number    string `json:"number"`
	Sex       string `json:"sex"`
	Birth     string `json:"birth"`
	Ethnicity string `json:"ethnicity"`
	Address   string `json:"address"`
	Issue     string `json:"issue"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
}

// ActionResult is one liveness action IVS detected, with its confidence (0–1).
type ActionResult struct {
	Action     int     `json:"action"`
	Confidence float64 `json:"confidence"`
}

// TaskRef is what a queued task carries: the record id and its generation,
// and the record's shape, which decides the queue (one per IVS endpoint).
type TaskRef struct {
	RecordID   int64 `json:"record_id"`
	Generation int   `json:"generation"`
	Shape      Shape `json:"shape,omitempty"`
}

// UUID is the meta.uuid sent to IVS for this record generation (≤ 64 chars).
func (t TaskRef) UUID() string { return fmt.Sprintf("rec-%d-g%d", t.RecordID, t.Generation) }

// TaskID is the queue's task id, so enqueuing the same generation twice is harmless.
func (t TaskRef) TaskID() string { return fmt.Sprintf("record:%d:g%d", t.RecordID, t.Generation) }
