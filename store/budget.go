package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// A batch's budget_used is maintained in the same statements that change
// its attempts (Reserve, Send, Release, Finish, Claim): it is the number of
// the batch's attempts that hold a slot, reserved, in flight, billed or
// possibly billed. slotHeld is that condition, for SQL.
const slotHeld = `(a.state IN ('reserved', 'in_flight') OR a.billed OR a.possibly_billed)`

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
			ORDER BY id FOR UPDATE`, pipeline.StatusStrings(pipeline.OpenStatuses))
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
				       (SELECT count(*) FROM attempts a WHERE a.batch_id = b.id AND `+slotHeld+`)::int AS actual
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
