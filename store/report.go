package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BatchStatus is what an operator sees of a batch: counts by status, by
// verdict code and by last error code, and its recent progress (rate, ETA).
type BatchStatus struct {
	Batch     pipeline.Batch
	Counts    Counts
	ByVerdict map[string]int // "1000 valid" → n
	ByError   map[string]int // last_error_code → n, for records without a verdict
	Progress  Progress       // the batch's own recent work: rate and ETA
}

// Rate is the batch's records finished per second over its own recent work
// (see Progress).
func (b BatchStatus) Rate() float64 { return b.Progress.Rate() }

// ETA is the time left at Rate (0 when done, or before the batch made
// progress).
func (b BatchStatus) ETA() time.Duration { return b.Progress.ETA(b.Counts.Open()) }

const batchVerdictsSQL = `SELECT verdict, code, sum(n) FROM record_counts WHERE batch_id = $1 AND status = ANY ($2)
	GROUP BY 1, 2 HAVING sum(n) <> 0`

// GetBatchStatus gathers a batch's status.
func (s *Store) GetBatchStatus(ctx context.Context, batchID int64) (BatchStatus, error) {
	b := BatchStatus{ByVerdict: map[string]int{}, ByError: map[string]int{}}
	var err error
	if b.Batch, err = s.GetBatch(ctx, batchID); err != nil {
		return b, err
	}
	if b.Counts, err = s.BatchCounts(ctx, batchID); err != nil {
		return b, err
	}
	if b.Progress, err = s.batchProgress(ctx, batchID); err != nil {
		return b, err
	}
	// By verdict and error code: the count deltas (O(1) rows).
	rows, err := s.pool.Query(ctx, batchVerdictsSQL, batchID, pipeline.StatusStrings(pipeline.TerminalStatuses))
	if err != nil {
		return b, fmt.Errorf("store: batch %d status: %w", batchID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var verdict, code string
		var n int
		if err := rows.Scan(&verdict, &code, &n); err != nil {
			return b, fmt.Errorf("store: batch %d status: %w", batchID, err)
		}
		if verdict != "" {
			b.ByVerdict[verdict] += n
		} else if code != "" {
			b.ByError[code] += n
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("store: batch %d status: %w", batchID, err)
	}
	return b, nil
}
