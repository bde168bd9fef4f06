package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one row of audit_log: who did what, with which arguments, to
// which batch, why, and what came of it. Args and Result must never hold
// personal data (names, id numbers, images): record ids, codes, counts and
// paths only.
type AuditEntry struct {
	Operator string
	Command  string         // "requeue", "budget", "export", "report", "reconcile", "rotate-keys" …
	Args     map[string]any // stored as jsonb
	BatchID  int64          // 0: not about one batch
	Reason   string
	Result   map[string]any // stored as jsonb
}

// AuditRow is a stored AuditEntry.
type AuditRow struct {
	ID int64
	At time.Time
	AuditEntry
}

// Audit writes e to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return audit(ctx, tx, e) })
}

func audit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	if e.Operator == "" {
		e.Operator = "unknown"
	}
	args, err := json.Marshal(orEmpty(e.Args))
	if err != nil {
		return fmt.Errorf("store: audit args: %w", err)
	}
	result, err := json.Marshal(orEmpty(e.Result))
	if err != nil {
		return fmt.Errorf("store: audit result: %w", err)
	}
	var batch *int64
	if e.BatchID != 0 {
		batch = &e.BatchID
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (operator, command, args, batch_id, reason, result)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Operator, e.Command, args, batch, e.Reason, result)
	if err != nil {
		return fmt.Errorf("store: write audit log: %w", err)
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ListAudit returns the latest n audit rows, newest first (command "" = all).
func (s *Store) ListAudit(ctx context.Context, command string, n int) ([]AuditRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, operator, command, args, coalesce(batch_id, 0), reason, result
		FROM audit_log WHERE $1 = '' OR command = $1 ORDER BY id DESC LIMIT $2`, command, n)
	if err != nil {
		return nil, fmt.Errorf("store: list audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var r AuditRow
		var args, result []byte
		if err := rows.Scan(&r.ID, &r.At, &r.Operator, &r.Command, &args, &r.BatchID, &r.Reason, &result); err != nil {
			return nil, fmt.Errorf("store: scan audit row: %w", err)
		}
		_ = json.Unmarshal(args, &r.Args)
		_ = json.Unmarshal(result, &r.Result)
		out = append(out, r)
	}
	return out, rows.Err()
}

// auditStart writes an audit row whose result auditFinish completes.
func (s *Store) auditStart(ctx context.Context, e AuditEntry) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := audit(ctx, tx, e); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT currval(pg_get_serial_sequence('audit_log', 'id'))`).Scan(&id)
	})
	return id, err
}

// auditFinish sets the result of the audit row id.
func (s *Store) auditFinish(ctx context.Context, id int64, result map[string]any) error {
	_, err := s.pool.Exec(ctx, `UPDATE audit_log SET result = $2 WHERE id = $1`, id, result)
	if err != nil {
		return fmt.Errorf("complete audit row %d: %w", id, err)
	}
	return nil
}
