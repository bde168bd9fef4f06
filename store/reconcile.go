package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// LatestReconcile returns the latest reconcile run's start and whether it
// needs a human (ok = false when none ran yet). One index lookup.
func (s *Store) LatestReconcile(ctx context.Context) (started time.Time, needsHuman, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT started_at, needs_human FROM reconcile_runs ORDER BY id DESC LIMIT 1`).
		Scan(&started, &needsHuman)
	if errors.Is(err, pgx.ErrNoRows) {
		return started, false, false, nil
	}
	if err != nil {
		return started, false, false, fmt.Errorf("store: latest reconcile run: %w", err)
	}
	return started, needsHuman, true, nil
}

// SaveReconcile stores a reconcile run's summary (any JSON-encodable value)
// and its audit entry in one transaction, and returns the run's id.
func (s *Store) SaveReconcile(ctx context.Context, started time.Time, needsHuman bool, summary any, a *AuditEntry) (int64, error) {
	b, err := json.Marshal(summary)
	if err != nil {
		return 0, fmt.Errorf("store: encode reconcile summary: %w", err)
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO reconcile_runs (started_at, needs_human, summary) VALUES ($1, $2, $3)
			RETURNING id`, started, needsHuman, b).Scan(&id); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		e := *a
		if e.Result == nil {
			e.Result = map[string]any{}
		}
		e.Result["reconcile_run"] = id
		e.Result["needs_human"] = needsHuman
		return AuditTx(ctx, tx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("store: save reconcile run: %w", err)
	}
	return id, nil
}

// FailedSince counts records finished as failed after t, by last_error_code.
func (s *Store) FailedSince(ctx context.Context, t time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT coalesce(last_error_code, ''), count(*) FROM records
		WHERE status = `+sqlText(pipeline.StatusFailed)+` AND finished_at > $1 GROUP BY 1`, t)
	if err != nil {
		return nil, fmt.Errorf("store: failed records: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}

// PossiblyBilledSince counts attempts marked possibly billed (and not billed)
// that finished after t: calls the invoice may hold that no verdict shows.
func (s *Store) PossiblyBilledSince(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM attempts
		WHERE possibly_billed AND NOT billed AND finished_at > $1`, t).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: possibly billed attempts: %w", err)
	}
	return n, nil
}

// ClaimReconcileSlot claims a slot of the reconcile schedule for worker; it
// returns false when another worker claimed it first.
func (s *Store) ClaimReconcileSlot(ctx context.Context, slot time.Time, worker string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO reconcile_slots (slot, worker) VALUES ($1, $2) ON CONFLICT (slot) DO NOTHING`,
		slot, worker)
	if err != nil {
		return false, fmt.Errorf("store: claim reconcile slot %s: %w", slot.Format(time.RFC3339), err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetReconcileSlotRun links a claimed slot to the run it started.
func (s *Store) SetReconcileSlotRun(ctx context.Context, slot time.Time, runID int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE reconcile_slots SET run_id = $2 WHERE slot = $1`, slot, runID); err != nil {
		return fmt.Errorf("store: reconcile slot %s: %w", slot.Format(time.RFC3339), err)
	}
	return nil
}

// ReconcileSlot is one claimed slot of the schedule.
type ReconcileSlot struct {
	Slot   time.Time
	Worker string
	RunID  int64 // 0 while running, or when the run failed
}

// ReconcileSlots lists the slots since t, oldest first.
func (s *Store) ReconcileSlots(ctx context.Context, since time.Time) ([]ReconcileSlot, error) {
	rows, err := s.pool.Query(ctx, `SELECT slot, worker, coalesce(run_id, 0) FROM reconcile_slots WHERE slot >= $1 ORDER BY slot`, since)
	if err != nil {
		return nil, fmt.Errorf("store: reconcile slots: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReconcileSlot, error) {
		var s ReconcileSlot
		err := r.Scan(&s.Slot, &s.Worker, &s.RunID)
		return s, err
	})
}
