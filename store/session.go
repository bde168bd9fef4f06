package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Session is a signed-in person's session: the account (as it is now, so
// a changed role or a disabled account takes effect at once) and the CSRF
// token of its forms.
type Session struct {
	Account   OperatorAccount
	CSRF      string
	ExpiresAt time.Time
}

// CreateSession stores a session by the hash of its id, and deletes
// expired sessions.
func (s *Store) CreateSession(ctx context.Context, hash []byte, accountID int64, csrf string, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM server_sessions WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("store: expire sessions: %w", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO server_sessions (hash, account_id, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, accountID, csrf, expires)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByHash returns the live session with that hash whose account is
// not disabled (pipeline.ErrNotFound otherwise).
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (Session, error) {
	var ses Session
	err := s.pool.QueryRow(ctx, `SELECT a.id, a.username, a.password_hash, a.role, a.created_at, a.disabled_at,
			s.csrf, s.expires_at
		FROM server_sessions s JOIN operator_accounts a ON a.id = s.account_id
		WHERE s.hash = $1 AND s.expires_at > now() AND a.disabled_at IS NULL`, hash).
		Scan(append(accountFields(&ses.Account), &ses.CSRF, &ses.ExpiresAt)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ses, fmt.Errorf("store: session: %w", pipeline.ErrNotFound)
	}
	if err != nil {
		return ses, fmt.Errorf("store: session: %w", err)
	}
	return ses, nil
}

// DeleteSession ends a session (signing out).
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM server_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}
