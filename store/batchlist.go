package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BatchPageItem is a batch in a page of ListBatchPage: the batch and its counts by status.
type BatchPageItem struct {
	Batch  pipeline.Batch
	Counts Counts
}

// listBatchPageSQL reads a page of batches by primary key, newest first,
// and each one's counts by status from its count deltas (O(1) rows per
// batch), through the batch index.
const listBatchPageSQL = `SELECT b.id, b.name, b.source, b.manifest_sha256, b.created_at, c.status, coalesce(c.n, 0)
	FROM (SELECT id, name, source, manifest_sha256, created_at FROM batches
	      WHERE $2 = 0 OR id < $2 ORDER BY id DESC LIMIT $1) b
	LEFT JOIN LATERAL (SELECT status, sum(n) AS n FROM record_counts WHERE batch_id = b.id
	                   GROUP BY status HAVING sum(n) <> 0) c ON true
	ORDER BY b.id DESC`

// ListBatchPage returns up to limit batches, newest first, with ids below
// beforeID (0: from the newest), with their counts by status: keyset pages
// of the batches' primary key, read in one read-only snapshot through
// indexes as GetBatchStatus reads (the deltas compaction deleted are then
// marked dead instead of visited again by every reader).
func (s *Store) ListBatchPage(ctx context.Context, limit int, beforeID int64) ([]BatchPageItem, error) {
	var out []BatchPageItem
	err := s.readThroughIndexes(ctx, func(q *pgx.Batch) {
		q.Queue(listBatchPageSQL, limit, beforeID).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var b pipeline.Batch
				var status *string
				var n int
				if err := rows.Scan(append(batchFields(&b), &status, &n)...); err != nil {
					return err
				}
				if len(out) == 0 || out[len(out)-1].Batch.ID != b.ID {
					out = append(out, BatchPageItem{Batch: b, Counts: Counts{ByStatus: map[pipeline.Status]int{}}})
				}
				if status != nil {
					c := &out[len(out)-1].Counts
					c.ByStatus[pipeline.Status(*status)] = n
					c.Total += n
				}
			}
			return rows.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list batches: %w", err)
	}
	return out, nil
}

// BudgetUse is batchID's cap of billed calls and the slots used, read from
// the batch's row alone (GetBudget also counts the batch's billed attempts,
// which grows with the batch). pipeline.ErrNotFound when there is no batch.
func (s *Store) BudgetUse(ctx context.Context, batchID int64) (Budget, error) {
	b := Budget{BatchID: batchID}
	err := s.pool.QueryRow(ctx, `SELECT max_billed, budget_used FROM batches WHERE id = $1`, batchID).Scan(&b.MaxBilled, &b.Used)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("store: batch %d: %w", batchID, pipeline.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: budget of batch %d: %w", batchID, err)
	}
	return b, nil
}
