package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pii"
)

// ErrInactiveKey is returned by CheckActiveKey when this process would seal
// under a key id other than the database's active one.
var ErrInactiveKey = errors.New("store: sealing key is not the database's active key")

// ActiveKeyID returns the key id the database says new values are sealed
// with (ok = false: none declared yet).
func (s *Store) ActiveKeyID(ctx context.Context) (id string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT active_key_id FROM pii_state`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: active key id: %w", err)
	}
	return id, true, nil
}

// CheckActiveKey refuses (ErrInactiveKey) a keyring whose active key is not
// the database's; when the database has none yet, the keyring's becomes it.
// Commands that seal (worker run, enqueue submit) call it when they start.
func (s *Store) CheckActiveKey(ctx context.Context) error {
	if s.keys == nil {
		return pii.ErrNoKeys
	}
	mine := s.keys.ActiveKeyID()
	if _, err := s.pool.Exec(ctx, `INSERT INTO pii_state (active_key_id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, mine); err != nil {
		return fmt.Errorf("store: declare the active key: %w", err)
	}
	db, _, err := s.ActiveKeyID(ctx)
	if err != nil {
		return err
	}
	if db != mine {
		return fmt.Errorf("%w: this process seals under %q (IVSBATCH_PII_KEY_ID), the database under %q: set IVSBATCH_PII_KEY_ID=%s, or finish the rotation with enqueue rekey",
			ErrInactiveKey, mine, db, db)
	}
	return nil
}

// SetActiveKey makes the keyring's active key the database's (the start of
// a rotation, by enqueue rekey), with its audit entry a in the same
// transaction, and returns the previous one ("" for none).
func (s *Store) SetActiveKey(ctx context.Context, a AuditEntry) (string, error) {
	if s.keys == nil {
		return "", pii.ErrNoKeys
	}
	var prev string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT active_key_id FROM pii_state FOR UPDATE`).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pii_state (active_key_id) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET active_key_id = $1, updated_at = now()`, s.keys.ActiveKeyID()); err != nil {
			return err
		}
		if prev == s.keys.ActiveKeyID() {
			return nil
		}
		if a.Args == nil {
			a.Args = map[string]any{}
		}
		a.Args["from_key_id"], a.Args["to_key_id"] = prev, s.keys.ActiveKeyID()
		return AuditTx(ctx, tx, a)
	})
	if err != nil {
		return "", fmt.Errorf("store: set the active key: %w", err)
	}
	return prev, nil
}
