package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// batchDecisionsSQL reads the latest review decision of each record of
// batch $1 that has one (review_decisions_batch: decisions are few).
const batchDecisionsSQL = `SELECT DISTINCT ON (record_id) record_id, decision, reason, why_code, name_corrected,
	operator, db_user, decided_at FROM review_decisions WHERE batch_id = $1 ORDER BY record_id, id DESC`

// BatchDecisions returns the latest review decision of every record of
// batchID that has one, by record id (for ops export).
func (s *Store) BatchDecisions(ctx context.Context, batchID int64) (map[int64]DecisionRow, error) {
	rows, err := s.pool.Query(ctx, batchDecisionsSQL, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: review decisions of batch %d: %w", batchID, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DecisionRow, error) {
		var d DecisionRow
		var dec string
		err := row.Scan(&d.RecordID, &dec, &d.Reason, &d.WhyCode, &d.NameCorrected, &d.Operator, &d.DBUser, &d.DecidedAt)
		d.Decision = pipeline.ReviewDecision(dec)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: review decisions of batch %d: %w", batchID, err)
	}
	out := make(map[int64]DecisionRow, len(list))
	for _, d := range list {
		out[d.RecordID] = d
	}
	return out, nil
}
