package pipeline

import (
	"context"
	"time"
)

// Deduper finds an earlier outcome a record can reuse instead of paying for
// the same verification again.
type Deduper interface {
	// Earlier returns, for rec, either an earlier record of the same batch
	// with the same inputs that already has a verdict, or a record of the
	// same person and shape verified valid within window (0: not looked
	// for). wait is true when an earlier record with the same inputs is still
	// on its way: rec should wait for it rather than pay a second time.
	Earlier(ctx context.Context, rec *Record, window time.Duration) (prior *Record, wait bool, err error)
}

// DefaultDedupWindow is how long a valid verdict of a person is reused for
// the same shape (IVSBATCH_DEDUP_WINDOW).
const DefaultDedupWindow = 30 * 24 * time.Hour

// reuse finishes rec with prior's verdict, linked to prior. Nothing is sent.
func (p *Processor) reuse(ctx context.Context, rec *Record, prior *Record) error {
	p.log().Info("outcome reused from an earlier record", "record", rec.ID, "linked_record", prior.ID)
	v := prior.Verdict
	status := StatusDone
	if prior.Status == StatusReview {
		status = StatusReview
	}
	return p.finish(ctx, Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: status, Verdict: v,
		LinkedRecordID: &prior.ID})
}
