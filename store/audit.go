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
	ID     int64
	At     time.Time
	DBUser string // the database's session_user when the row was written
	AuditEntry
}

// Audit writes e to the audit log in a transaction of its own.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return AuditTx(ctx, tx, e) })
}

// AuditTx writes e to the audit log in tx, the transaction of the change it
// records: both are stored or neither. Every command that changes rows
// calls it (or Audit). The database adds the time and the authenticated
// user (session_user, column db_user) itself; rows can only be appended.
func AuditTx(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
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
	rows, err := s.pool.Query(ctx, `SELECT id, at, db_user, operator, command, args, coalesce(batch_id, 0), reason, result
		FROM audit_log WHERE $1 = '' OR command = $1 ORDER BY id DESC LIMIT $2`, command, n)
	if err != nil {
		return nil, fmt.Errorf("store: list audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var r AuditRow
		var args, result []byte
		if err := rows.Scan(&r.ID, &r.At, &r.DBUser, &r.Operator, &r.Command, &args, &r.BatchID, &r.Reason, &result); err != nil {
			return nil, fmt.Errorf("store: scan audit row: %w", err)
		}
		_ = json.Unmarshal(args, &r.Args)
		_ = json.Unmarshal(result, &r.Result)
		out = append(out, r)
	}
	return out, rows.Err()
}

// auditStart writes the start row of a long change made in several
// transactions (command e.Command+".start", no result), so that a crash
// midway still leaves its trace; auditFinish appends the row with the
// outcome. Rows are never updated (migration 00012).
func (s *Store) auditStart(ctx context.Context, e AuditEntry) (int64, error) {
	var id int64
	e.Command += ".start"
	e.Result = nil
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := AuditTx(ctx, tx, e); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT currval(pg_get_serial_sequence('audit_log', 'id'))`).Scan(&id)
	})
	return id, err
}

// auditFinish appends e with its result, naming the start row.
func (s *Store) auditFinish(ctx context.Context, start int64, e AuditEntry, result map[string]any) error {
	e.Result = result
	e.Result["start_row"] = start
	if err := s.Audit(ctx, e); err != nil {
		return fmt.Errorf("complete audit row %d: %w", start, err)
	}
	return nil
}
