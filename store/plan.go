package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// PlanCounts are what a plan of a batch is made of: its rows as counted at
// intake, and per shape the records still open and their distinct inputs.
type PlanCounts struct {
	Rows, Refused, Review int // at intake (Refused excludes Review)
	Shapes                []ShapeCount
	Budget                Budget
}

// ShapeCount is the open records of one shape: Records of them, Distinct
// different full inputs (shape, name, id number, media references, actions).
type ShapeCount struct {
	Shape             ivs.Shape
	Records, Distinct int
}

// PlanCounts counts batchID's open records (pending, queued, in flight) by
// shape and distinct inputs (their blind index), one pass over the batch's
// open records (on demand, not periodic).
func (s *Store) PlanCounts(ctx context.Context, batchID int64) (PlanCounts, error) {
	var p PlanCounts
	var rejectedAndReview int
	err := s.pool.QueryRow(ctx, `SELECT rows_total, rows_rejected, rows_review FROM batches WHERE id = $1`, batchID).
		Scan(&p.Rows, &rejectedAndReview, &p.Review)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("store: batch %d: %w", batchID, pipeline.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: plan of batch %d: %w", batchID, err)
	}
	p.Refused = rejectedAndReview - p.Review
	rows, err := s.pool.Query(ctx, `
		SELECT shape, count(*), count(DISTINCT input_hmac) + count(*) FILTER (WHERE input_hmac IS NULL)
		FROM records WHERE batch_id = $1 AND status = ANY($2) GROUP BY shape ORDER BY shape`,
		batchID, pipeline.StatusStrings(pipeline.OpenStatuses))
	if err != nil {
		return p, fmt.Errorf("store: plan of batch %d: %w", batchID, err)
	}
	p.Shapes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ShapeCount, error) {
		var c ShapeCount
		var shape string
		err := r.Scan(&shape, &c.Records, &c.Distinct)
		c.Shape = ivs.Shape(shape)
		return c, err
	})
	if err != nil {
		return p, fmt.Errorf("store: plan of batch %d: %w", batchID, err)
	}
	if p.Budget, err = s.GetBudget(ctx, batchID); err != nil {
		return p, err
	}
	return p, nil
}
