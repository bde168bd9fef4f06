package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

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
