package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BudgetDrift is a batch whose stored budget_used differed from what its
// attempts say; RecomputeBudgets has set it to Actual.
type BudgetDrift struct {
	BatchID int64 `json:"batch_id"`
	Stored  int   `json:"stored"`
	Actual  int   `json:"actual"`
}

// RecomputeBudgets recomputes budget_used from the attempts of every batch
// that has open records or attempts started in the last day (the batches
// whose budget can still matter; the cost follows recent work, not the
// table's size), corrects those that drifted and returns them. Safe while
// workers run: the batch rows are locked first, so no reservation or
// release happens between the count and the correction.
func (s *Store) RecomputeBudgets(ctx context.Context) ([]BudgetDrift, error) {
	var out []BudgetDrift
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id FROM batches WHERE id IN (
				SELECT DISTINCT batch_id FROM records WHERE status = ANY ($1)
				UNION SELECT DISTINCT batch_id FROM attempts WHERE started_at > now() - interval '1 day')
			ORDER BY id FOR UPDATE`, openStatuses)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		// A new statement, so a new snapshot: it sees every change committed
		// before the locks were taken.
		rows, err = tx.Query(ctx, `
			WITH c AS (
				SELECT b.id, b.budget_used AS stored,
				       (SELECT count(*) FROM attempts a WHERE a.batch_id = b.id AND `+slotHeld("a")+`)::int AS actual
				FROM batches b WHERE b.id = ANY ($1))
			UPDATE batches b SET budget_used = c.actual FROM c WHERE b.id = c.id AND c.stored <> c.actual
			RETURNING c.id, c.stored, c.actual`, ids)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[BudgetDrift])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: recompute budgets: %w", err)
	}
	return out, nil
}

// Budget is a batch's cap on billed calls and how much of it is used.
type Budget struct {
	BatchID   int64
	MaxBilled int // 0: no cap
	Used      int // budget_used: attempts reserved, in flight, billed or possibly billed
	Billed    int // attempts stored as billed
	Possibly  int // attempts stored as possibly billed
}

// SetBudget sets batch's cap on billed calls (0: no cap) and returns the
// budget as it now stands. The audit entry, when given, is written in the
// same transaction.
func (s *Store) SetBudget(ctx context.Context, batchID int64, max int, a *AuditEntry) (Budget, error) {
	if max < 0 {
		return Budget{}, errors.New("store: budget must be ≥ 0")
	}
	var b Budget
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var old int
		err := tx.QueryRow(ctx, `SELECT max_billed FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("batch %d: %w", batchID, pipeline.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET max_billed = $2 WHERE id = $1`, batchID, max); err != nil {
			return err
		}
		if b, err = getBudget(ctx, tx, batchID); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		e := *a
		e.BatchID = batchID
		e.Result = map[string]any{"old_max_billed": old, "max_billed": max, "used": b.Used, "billed": b.Billed,
			"possibly_billed": b.Possibly}
		return AuditTx(ctx, tx, e)
	})
	if err != nil {
		return b, fmt.Errorf("store: set budget of batch %d: %w", batchID, err)
	}
	return b, nil
}

// GetBudget returns batch's budget.
func (s *Store) GetBudget(ctx context.Context, batchID int64) (Budget, error) {
	b, err := getBudget(ctx, s.pool, batchID)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("store: batch %d: %w", batchID, pipeline.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: budget of batch %d: %w", batchID, err)
	}
	return b, nil
}

func getBudget(ctx context.Context, q querier, batchID int64) (Budget, error) {
	b := Budget{BatchID: batchID}
	err := q.QueryRow(ctx, `
		SELECT b.max_billed, b.budget_used,
		       (SELECT count(*) FROM attempts a JOIN records r ON r.id = a.record_id WHERE r.batch_id = b.id AND a.billed),
		       (SELECT count(*) FROM attempts a JOIN records r ON r.id = a.record_id
		         WHERE r.batch_id = b.id AND a.possibly_billed AND NOT a.billed)
		FROM batches b WHERE b.id = $1`, batchID).Scan(&b.MaxBilled, &b.Used, &b.Billed, &b.Possibly)
	return b, err
}
