package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// RequeuePreview is a requeue shown to a caller (count and cost) before it
// runs: Request is the caller's selection as given (JSON), the counts are
// the dry run's.
type RequeuePreview struct {
	ID                        string
	Principal                 string
	Request                   []byte
	Selected, Requeue, Forced int
	ExpiresAt                 time.Time
}

// CreateRequeuePreview stores a preview, and deletes expired ones.
func (s *Store) CreateRequeuePreview(ctx context.Context, p RequeuePreview) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM requeue_previews WHERE expires_at < now() - interval '1 day'`); err != nil {
		return fmt.Errorf("store: expire requeue previews: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO requeue_previews (id, principal, request, selected, requeue, forced, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.ID, p.Principal, p.Request, p.Selected, p.Requeue, p.Forced, p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: store requeue preview: %w", err)
	}
	return nil
}

// ConfirmRequeuePreview marks preview id of principal confirmed and returns
// it: once only, and before it expires. pipeline.ErrNotFound when there is
// no such live, unconfirmed preview of that principal.
func (s *Store) ConfirmRequeuePreview(ctx context.Context, id, principal string) (RequeuePreview, error) {
	p := RequeuePreview{ID: id, Principal: principal}
	err := s.pool.QueryRow(ctx, `UPDATE requeue_previews SET confirmed_at = now()
		WHERE id = $1 AND principal = $2 AND confirmed_at IS NULL AND expires_at > now()
		RETURNING request, selected, requeue, forced, expires_at`, id, principal).
		Scan(&p.Request, &p.Selected, &p.Requeue, &p.Forced, &p.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("store: requeue preview (unknown, expired or confirmed before): %w", pipeline.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: confirm requeue preview: %w", err)
	}
	return p, nil
}
