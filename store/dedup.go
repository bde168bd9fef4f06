package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Earlier implements pipeline.Deduper with the blind indexes stored at
// enqueue: input_hmac (shape, id number, name, media references, actions) for
// repeats within a batch, id_hmac with the shape for a person verified valid
// within window. Card shapes have no id number before OCR, so only the
// same-input rule applies to them.
func (s *Store) Earlier(ctx context.Context, rec *pipeline.Record, window time.Duration) (*pipeline.Record, bool, error) {
	var priorID int64
	var status string
	var hasVerdict bool
	err := s.pool.QueryRow(ctx, `
		SELECT e.id, e.status, e.verification_code IS NOT NULL
		FROM records r JOIN records e ON e.batch_id = r.batch_id AND e.input_hmac = r.input_hmac AND e.id < r.id
		WHERE r.id = $1 AND r.input_hmac IS NOT NULL
		ORDER BY e.id LIMIT 1`, rec.ID).Scan(&priorID, &status, &hasVerdict)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, false, fmt.Errorf("store: same-input lookup for record %d: %w", rec.ID, err)
	case !pipeline.Status(status).Terminal():
		return nil, true, nil
	case hasVerdict:
		prior, err := s.GetRecord(ctx, priorID)
		return prior, false, err
	}
	if window <= 0 {
		return nil, false, nil
	}
	err = s.pool.QueryRow(ctx, `
		SELECT e.id FROM records r JOIN records e ON e.id_hmac = r.id_hmac AND e.shape = r.shape AND e.id <> r.id
		WHERE r.id = $1 AND r.id_hmac IS NOT NULL AND e.verification_code = 1000 AND e.status = 'done'
		  AND e.finished_at > now() - make_interval(secs => $2)
		ORDER BY e.finished_at DESC LIMIT 1`, rec.ID, window.Seconds()).Scan(&priorID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: earlier valid verdict for record %d: %w", rec.ID, err)
	}
	prior, err := s.GetRecord(ctx, priorID)
	return prior, false, err
}
