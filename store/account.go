package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetPaused records an account-wide stop.
func (s *Store) SetPaused(ctx context.Context, code, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE account_state SET paused = true, code = $1, reason = $2, updated_at = now()`, code, reason)
	if err != nil {
		return fmt.Errorf("store: set paused: %w", err)
	}
	return nil
}

// ClearPaused lifts the account-wide stop.
func (s *Store) ClearPaused(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `UPDATE account_state SET paused = false, code = '', reason = '', updated_at = now()`)
	if err != nil {
		return fmt.Errorf("store: clear paused: %w", err)
	}
	return nil
}

// Paused returns the current account-wide stop, if any.
func (s *Store) Paused(ctx context.Context) (code, reason string, ok bool, err error) {
	return readPaused(ctx, s.pool)
}

// readPaused reads the account-wide stop through q: the pool, or the
// account watch's own connection (which needs no pool slot, so a busy pool
// never delays a pause reaching the handlers).
func readPaused(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (code, reason string, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT paused, code, reason FROM account_state`).Scan(&ok, &code, &reason)
	if err != nil {
		return "", "", false, fmt.Errorf("store: read account state: %w", err)
	}
	return code, reason, ok, nil
}
