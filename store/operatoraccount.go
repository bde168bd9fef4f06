package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ErrExists refuses to create what already exists (an account's username).
var ErrExists = errors.New("already exists")

// OperatorAccount is a person who signs in to the server. PasswordHash is
// an argon2id hash in PHC form (auth.HashPassword), never a password.
type OperatorAccount struct {
	ID           int64
	Username     string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
	DisabledAt   *time.Time
}

const accountColumns = `id, username, password_hash, role, created_at, disabled_at`

func accountFields(a *OperatorAccount) []any {
	return []any{&a.ID, &a.Username, &a.PasswordHash, &a.Role, &a.CreatedAt, &a.DisabledAt}
}

// CreateOperatorAccount stores an account (ErrExists when the username is
// taken), audited in the same transaction.
func (s *Store) CreateOperatorAccount(ctx context.Context, username, passwordHash, role string, a AuditEntry) (OperatorAccount, error) {
	var acc OperatorAccount
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO operator_accounts (username, password_hash, role) VALUES ($1, $2, $3)
			RETURNING `+accountColumns, username, passwordHash, role).Scan(accountFields(&acc)...)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("store: account %q: %w", username, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("store: create account: %w", err)
		}
		a.Result = map[string]any{"account_id": acc.ID}
		return AuditTx(ctx, tx, a)
	})
	return acc, err
}

// OperatorAccountByName returns the account named username, disabled or
// not (pipeline.ErrNotFound when there is none).
func (s *Store) OperatorAccountByName(ctx context.Context, username string) (OperatorAccount, error) {
	var acc OperatorAccount
	err := s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM operator_accounts WHERE username = $1`, username).
		Scan(accountFields(&acc)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return acc, fmt.Errorf("store: account: %w", pipeline.ErrNotFound)
	}
	if err != nil {
		return acc, fmt.Errorf("store: account: %w", err)
	}
	return acc, nil
}

// ListOperatorAccounts returns every account by username.
func (s *Store) ListOperatorAccounts(ctx context.Context) ([]OperatorAccount, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+` FROM operator_accounts ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OperatorAccount, error) {
		var acc OperatorAccount
		return acc, r.Scan(accountFields(&acc)...)
	})
}

// UpdateOperatorAccount changes an account's password hash (when not
// empty), role (when not empty) and disabled state (when disable is not
// nil), ends its sessions, and writes the audit row, in one transaction.
// pipeline.ErrNotFound when there is no such account.
func (s *Store) UpdateOperatorAccount(ctx context.Context, username, passwordHash, role string, disable *bool, a AuditEntry) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `UPDATE operator_accounts SET
				password_hash = coalesce(nullif($2, ''), password_hash),
				role = coalesce(nullif($3, ''), role),
				disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at
				                   WHEN $4 THEN coalesce(disabled_at, now()) ELSE NULL END
			WHERE username = $1 RETURNING id`, username, passwordHash, role, disable).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store: account %q: %w", username, pipeline.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: update account: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM server_sessions WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("store: end sessions: %w", err)
		}
		return AuditTx(ctx, tx, a)
	})
}
