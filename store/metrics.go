package store

import (
	"context"
	"fmt"
	"time"
)

// BatchBudget is a batch's cap on billed calls and the slots used, as
// stored on the batch row (no count over attempts).
type BatchBudget struct {
	BatchID   int64
	MaxBilled int // 0: no cap
	Used      int
}

// RecentBatches returns the n latest batches' budgets, newest first (one
// index scan of the batches' primary key).
func (s *Store) RecentBatches(ctx context.Context, n int) ([]BatchBudget, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, max_billed, budget_used FROM batches ORDER BY id DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent batches: %w", err)
	}
	defer rows.Close()
	var out []BatchBudget
	for rows.Next() {
		var b BatchBudget
		if err := rows.Scan(&b.BatchID, &b.MaxBilled, &b.Used); err != nil {
			return nil, fmt.Errorf("store: recent batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// inFlightSinceSQL counts records in flight unchanged since $1.
const inFlightSinceSQL = `SELECT count(*) FROM records WHERE status IN ('queued', 'in_flight') AND updated_at < $1
		AND status = 'in_flight'`

// InFlightSince counts records in flight, unchanged since t (the status
// list repeats records_open's predicate so the partial index serves it:
// bounded by the queue window, not the table).
func (s *Store) InFlightSince(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, inFlightSinceSQL, t).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: records in flight since %s: %w", t.Format(time.RFC3339), err)
	}
	return n, nil
}
