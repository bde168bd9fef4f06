package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// IdempotencyTTL is how long an idempotency key is remembered (as Persona
// and Stripe do: 24 h).
const IdempotencyTTL = 24 * time.Hour

// idempotencyStale is how long a request holding a key may run before a
// retry with the same key may take the key over (its server died).
const idempotencyStale = time.Hour

// Errors of BeginIdempotent.
var (
	// ErrIdempotencyMismatch: the key was used for a different request.
	ErrIdempotencyMismatch = errors.New("the idempotency key was used with a different request")
	// ErrIdempotencyInProgress: the first request with the key still runs.
	ErrIdempotencyInProgress = errors.New("a request with this idempotency key is still running")
)

// IdempotentReply is the stored answer to a request made with an
// idempotency key; Status 0 means the caller holds the key now and must
// answer the request, then FinishIdempotent (or AbandonIdempotent).
type IdempotentReply struct {
	Status   int
	Response []byte
}

// BeginIdempotent claims (principal, key) for a request with this
// fingerprint, or returns the answer stored for it. Keys older than
// IdempotencyTTL are forgotten.
func (s *Store) BeginIdempotent(ctx context.Context, principal, key string, fingerprint []byte) (IdempotentReply, error) {
	var r IdempotentReply
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`,
		IdempotencyTTL.String()); err != nil {
		return r, fmt.Errorf("store: expire idempotency keys: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (principal, key, fingerprint) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, principal, key, fingerprint)
	if err != nil {
		return r, fmt.Errorf("store: idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return r, nil
	}
	var stored []byte
	var status *int
	var created time.Time
	err = s.pool.QueryRow(ctx, `SELECT fingerprint, status, coalesce(response, 'null'), created_at
		FROM idempotency_keys WHERE principal = $1 AND key = $2`, principal, key).Scan(&stored, &status, &r.Response, &created)
	if errors.Is(err, pgx.ErrNoRows) { // expired and deleted meanwhile
		return s.BeginIdempotent(ctx, principal, key, fingerprint)
	}
	if err != nil {
		return r, fmt.Errorf("store: idempotency key: %w", err)
	}
	switch {
	case !bytes.Equal(stored, fingerprint):
		return r, ErrIdempotencyMismatch
	case status != nil:
		r.Status = *status
		return r, nil
	case time.Since(created) < idempotencyStale:
		return r, ErrIdempotencyInProgress
	}
	tag, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET created_at = now()
		WHERE principal = $1 AND key = $2 AND status IS NULL AND created_at = $3`, principal, key, created)
	if err != nil {
		return r, fmt.Errorf("store: idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return r, ErrIdempotencyInProgress
	}
	return IdempotentReply{}, nil
}

// FinishIdempotent stores the answer to the request holding (principal, key).
func (s *Store) FinishIdempotent(ctx context.Context, principal, key string, status int, response []byte) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, response = $4 WHERE principal = $1 AND key = $2`,
		principal, key, status, response)
	if err != nil {
		return fmt.Errorf("store: store idempotent answer: %w", err)
	}
	return nil
}

// AbandonIdempotent forgets (principal, key): the request failed in a way
// a retry may not (a server error), so the retry runs it again.
func (s *Store) AbandonIdempotent(ctx context.Context, principal, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status IS NULL`, principal, key)
	if err != nil {
		return fmt.Errorf("store: forget idempotency key: %w", err)
	}
	return nil
}
