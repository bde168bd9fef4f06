package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

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
