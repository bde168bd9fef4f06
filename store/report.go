package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// SimilarityBins counts the batch's records by similarity in ten bins of
// width 10 (scores over 100, detail scores of 0–1000, scaled down first).
func (s *Store) SimilarityBins(ctx context.Context, batchID int64) ([]int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT least(9, greatest(0, floor(CASE WHEN similarity > 100 THEN similarity / 10 ELSE similarity END / 10)))::int,
		       count(*)::int
		FROM records WHERE batch_id = $1 AND similarity IS NOT NULL GROUP BY 1`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: similarities of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	bins := make([]int, 10)
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			return nil, fmt.Errorf("store: similarities of batch %d: %w", batchID, err)
		}
		bins[i] = n
	}
	return bins, rows.Err()
}

// CodeBucket is how many attempts of a batch ended with Code in one time bucket.
type CodeBucket struct {
	At    time.Time
	Code  string
	Count int
}

// AttemptErrorCodes returns, per bucket (date_trunc unit: "minute", "hour"…),
// the codes of the batch's attempts that did not end with a verdict (errors,
// throttling, abandoned calls), oldest first.
func (s *Store) AttemptErrorCodes(ctx context.Context, batchID int64, unit string) ([]CodeBucket, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc($2, a.started_at) AS t,
		       CASE WHEN a.state = 'abandoned' THEN 'abandoned' ELSE coalesce(a.code, 'unknown') END AS code, count(*)
		FROM attempts a JOIN records r ON r.id = a.record_id
		WHERE r.batch_id = $1 AND (a.state = 'abandoned' OR (a.state = 'finished' AND coalesce(a.class, '') <> 'verdict'))
		GROUP BY 1, 2 ORDER BY 1, 2`, batchID, unit)
	if err != nil {
		return nil, fmt.Errorf("store: attempt codes of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []CodeBucket
	for rows.Next() {
		var b CodeBucket
		if err := rows.Scan(&b.At, &b.Code, &b.Count); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SecondCount is how many attempts to Endpoint started within one second.
type SecondCount struct {
	At       time.Time
	Endpoint string
	Count    int
}

// CallsPerSecond returns the batch's attempts per started second and endpoint, oldest first.
func (s *Store) CallsPerSecond(ctx context.Context, batchID int64) ([]SecondCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('second', a.started_at), a.endpoint, count(*)
		FROM attempts a JOIN records r ON r.id = a.record_id
		WHERE r.batch_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: calls per second of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []SecondCount
	for rows.Next() {
		var c SecondCount
		if err := rows.Scan(&c.At, &c.Endpoint, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

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
