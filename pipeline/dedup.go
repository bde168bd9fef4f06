package pipeline

import (
	"context"
	"time"
)

// Deduper decides whether a record's verdict can come from an earlier
// record with identical inputs instead of a paid call.
type Deduper interface {
	// Dedup decides, atomically for digests[0] (see InputDigests), whether
	// rec reuses the verdict of an earlier record with one of the digests
	// (the same inputs under each index key held, during a rotation of the
	// index key) (prior),
	// waits for a record with the same digest that is being verified now
	// (wait), or is the one to call IVS: then digests[0] is stored so that
	// later identical records find it. Within rec's batch every verdict is
	// reused; across batches only one the outcome table marks reusable that
	// finished within window (window < 0: none, and no waiting on other
	// batches). A record forced to re-verify
	// (Reverify) is always the one to call.
	Dedup(ctx context.Context, rec *Record, digests [][]byte, window time.Duration) (prior *Record, wait bool, err error)
}

// DefaultDedupWindow is how long a verdict is reused across batches for
// identical inputs (IVSBATCH_DEDUP_WINDOW).
const DefaultDedupWindow = 30 * 24 * time.Hour

// reuse finishes rec with prior's verdict, linked to prior. Nothing is sent.
func (p *Processor) reuse(ctx context.Context, rec *Record, prior *Record) error {
	p.Log.Info("outcome reused from an earlier record", "record", rec.ID, "linked_record", prior.ID)
	ev := Event{Kind: EventReused}
	if prior.Code != nil {
		ev.Code = *prior.Code
	}
	o := Outcome{RecordID: rec.ID, Generation: rec.Generation, Verdict: prior.Verdict, LinkedRecordID: &prior.ID}
	return p.settle(ctx, rec, o, p.Decide(ev), "", nil)
}
