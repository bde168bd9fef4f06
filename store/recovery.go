package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// OpenRecord is a queued or in-flight record as lost-task recovery sees it.
type OpenRecord struct {
	Ref       pipeline.TaskRef
	Status    pipeline.Status
	UpdatedAt time.Time
}

// ListOpen returns up to n queued or in-flight records with id > afterID,
// in id order, unchanged since olderThan. Only records the feeder has put on
// the queue are open this way, so the list is bounded by the queue window,
// not by the size of the batches (index records_open).
func (s *Store) ListOpen(ctx context.Context, afterID int64, olderThan time.Time, n int) ([]OpenRecord, error) {
	rows, err := s.pool.Query(ctx, listOpenSQL, afterID, olderThan, n)
	if err != nil {
		return nil, fmt.Errorf("store: list open records: %w", err)
	}
	defer rows.Close()
	var out []OpenRecord
	for rows.Next() {
		var (
			r             OpenRecord
			shape, status string
		)
		if err := rows.Scan(&r.Ref.RecordID, &r.Ref.Generation, &shape, &status, &r.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: scan open record: %w", err)
		}
		r.Ref.Shape, r.Status = ivs.Shape(shape), pipeline.Status(status)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list open records: %w", err)
	}
	return out, nil
}

// listOpenSQL reads up to $3 records on their way with id > $1, unchanged
// since $2, in id order.
var listOpenSQL = `
	SELECT id, generation, shape, status, updated_at FROM records
	WHERE status IN ` + sqlIn(queueHeld...) + ` AND updated_at < $2 AND id > $1
	ORDER BY id LIMIT $3`

// RequeueLost hands a lost record back to the queue: attempts its dead
// worker left open are closed as abandoned, marked possibly billed and
// counted against the record's attempts (as the next claim would), and the
// record goes back to queued — with a new generation when newGeneration (its
// old task is still held by the dead worker's lease; the new generation lets
// a new task run now and makes the old one a no-op). It changes nothing and
// returns ok = false when the record moved since updatedAt (a live worker
// has it) or, without newGeneration, its attempt in flight started within
// the call grace (its call may still be on the wire). It returns the ref to
// enqueue and how many attempts it closed.
func (s *Store) RequeueLost(ctx context.Context, r OpenRecord, newGeneration bool) (ref pipeline.TaskRef, closed int, ok bool, err error) {
	ref = r.Ref
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if lost, err := s.stillLost(ctx, tx, r, newGeneration); err != nil || !lost {
			return err
		}
		tag, err := tx.Exec(ctx, abandonLostSQL, r.Ref.RecordID)
		if err != nil {
			return fmt.Errorf("close abandoned attempts: %w", err)
		}
		closed = int(tag.RowsAffected())
		bump := 0
		if newGeneration {
			bump = 1
		}
		if err := tx.QueryRow(ctx, requeueLostSQL, r.Ref.RecordID, closed, bump).Scan(&ref.Generation); err != nil {
			return fmt.Errorf("requeue: %w", err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return ref, 0, false, fmt.Errorf("store: requeue lost record %d: %w", r.Ref.RecordID, err)
	}
	return ref, closed, ok, nil
}

// stillLost locks r's record and reports whether it is as recovery saw it
// (same generation, unchanged since r.UpdatedAt, on its way) and, without a
// new generation, has no call that may still be on the wire. Without a new
// generation the worker that holds the record may be alive (Redis lost its
// task, not the worker): a call of its that may still be on the wire is
// left to end first (see Claim), and the record looked at again in a later
// round. A dead worker's calls ended with it.
func (s *Store) stillLost(ctx context.Context, tx pgx.Tx, r OpenRecord, newGeneration bool) (bool, error) {
	err := tx.QueryRow(ctx, lostRecordSQL, r.Ref.RecordID, r.Ref.Generation, r.UpdatedAt).Scan(new(int64))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if newGeneration {
		return true, nil
	}
	var wait float64
	if err := tx.QueryRow(ctx, callWait("$1", "$2"), r.Ref.RecordID, s.callGrace.Seconds()).Scan(&wait); err != nil {
		return false, fmt.Errorf("look for a call in flight: %w", err)
	}
	return wait == 0, nil
}

var (
	// lostRecordSQL locks record $1 if it is at generation $2, unchanged
	// since $3 and on its way.
	lostRecordSQL = `SELECT id FROM records WHERE id = $1 AND generation = $2 AND updated_at = $3
		AND status IN ` + sqlIn(queueHeld...) + ` FOR UPDATE`
	// abandonLostSQL closes the attempts in flight of record $1.
	abandonLostSQL = abandonSQL("", "a.record_id = $1")
	// requeueLostSQL puts record $1 back to queued, counting $2 attempts
	// and adding $3 to its generation.
	requeueLostSQL = `UPDATE records SET status = ` + sqlText(pipeline.StatusQueued) + `, attempts = attempts + $2,
		generation = generation + $3, updated_at = now() WHERE id = $1 RETURNING generation`
)
