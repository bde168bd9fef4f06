package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// APIToken is a stored API token: never the token itself, only its hash
// (auth.HashSecret).
type APIToken struct {
	ID         int64
	Name       string
	Role       string // viewer, operator or admin
	CreatedAt  time.Time
	CreatedBy  string
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// CreateAPIToken stores a token by its hash and writes the audit row in
// the same transaction.
func (s *Store) CreateAPIToken(ctx context.Context, name, role string, hash []byte, a AuditEntry) (APIToken, error) {
	t := APIToken{Name: name, Role: role, CreatedBy: a.Operator}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_tokens (name, role, hash, created_by) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, name, role, hash, a.Operator).Scan(&t.ID, &t.CreatedAt)
		if err != nil {
			return fmt.Errorf("store: create api token: %w", err)
		}
		a.Result = map[string]any{"token_id": t.ID}
		return AuditTx(ctx, tx, a)
	})
	return t, err
}

// APITokenByHash returns the live (not revoked) token with that hash, and
// notes its use (at most once a minute, so a busy caller costs no write
// per request). pipeline.ErrNotFound when there is none.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	var t APIToken
	err := s.pool.QueryRow(ctx, `SELECT id, name, role, created_at, created_by, revoked_at, last_used_at
		FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL`, hash).Scan(
		&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.CreatedBy, &t.RevokedAt, &t.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("store: api token: %w", pipeline.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("store: api token: %w", err)
	}
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		_, _ = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, t.ID)
	}
	return t, nil
}

// ListAPITokens returns every token, newest first, revoked ones included.
func (s *Store) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, role, created_at, created_by, revoked_at, last_used_at
		FROM api_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list api tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIToken, error) {
		var t APIToken
		err := r.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.CreatedBy, &t.RevokedAt, &t.LastUsedAt)
		return t, err
	})
}

// RevokeAPIToken revokes token id (pipeline.ErrNotFound when it does not
// exist or was revoked before), audited in the same transaction.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64, a AuditEntry) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("store: revoke api token %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("store: api token %d (or already revoked): %w", id, pipeline.ErrNotFound)
		}
		return AuditTx(ctx, tx, a)
	})
}
