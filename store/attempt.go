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

// Reserve implements pipeline.RecordStore: one statement takes a slot of
// the batch's budget (the batch row's lock serialises concurrent workers, so
// reservations never exceed the cap) and writes the attempt row, reserved.
// It commits asynchronously (see oneTrip), in a group commit with other
// tasks' writes (group.go): the batch row is locked only until the group's
// statements have run.
func (s *Store) Reserve(ctx context.Context, a pipeline.AttemptStart) (int64, bool, error) {
	var (
		id      int64
		scanErr error
	)
	queue := func(b *pgx.Batch) {
		b.Queue(`
		WITH slot AS (
			UPDATE batches SET budget_used = budget_used + 1
			WHERE id = $2 AND (max_billed = 0 OR budget_used < max_billed) RETURNING id)
		INSERT INTO attempts (record_id, batch_id, generation, uuid, endpoint, media_note, started_at, state)
		SELECT $1, slot.id, $3, $4, $5, $6, $7, 'reserved' FROM slot RETURNING id`,
			a.RecordID, a.BatchID, a.Generation, a.UUID, string(a.Endpoint), a.MediaNote, a.StartedAt).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&id); !errors.Is(err, pgx.ErrNoRows) {
				scanErr = err
			}
			return nil
		})
	}
	err := s.asyncGroup.write(ctx, &groupWrite{queue: queue, reset: func() { id, scanErr = 0, nil }, last: true})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: reserve attempt for record %d: %w", a.RecordID, err)
	}
	return id, id != 0, nil
}

// Send implements pipeline.RecordStore: the reserved attempt goes in flight,
// committed synchronously before the call goes out (with other tasks' writes:
// see group.go).
// ErrNotFound means it is no longer reserved (a redelivered task's claim
// took the record over): the call must not go out.
func (s *Store) Send(ctx context.Context, attemptID int64, at time.Time) error {
	sent := false
	err := s.group.write(ctx, &groupWrite{
		queue: func(b *pgx.Batch) {
			b.Queue(`UPDATE attempts SET state = 'in_flight', started_at = $2 WHERE id = $1 AND state = 'reserved'`,
				attemptID, at).Exec(func(tag pgconn.CommandTag) error {
				sent = tag.RowsAffected() == 1
				return nil
			})
		},
		reset: func() { sent = false },
	})
	if err != nil {
		return fmt.Errorf("store: send attempt %d: %w", attemptID, err)
	}
	if !sent {
		return fmt.Errorf("store: attempt %d is no longer reserved: %w", attemptID, pipeline.ErrNotFound)
	}
	return nil
}

// Release implements pipeline.RecordStore: a reserved attempt that was never
// sent is deleted and its budget slot given back, in one statement.
func (s *Store) Release(ctx context.Context, attemptID int64) error {
	_, err := s.pool.Exec(ctx, `
		WITH del AS (DELETE FROM attempts WHERE id = $1 AND state = 'reserved' RETURNING batch_id)
		UPDATE batches b SET budget_used = GREATEST(0, b.budget_used - 1) FROM del WHERE b.id = del.batch_id`, attemptID)
	if err != nil {
		return fmt.Errorf("store: release attempt %d: %w", attemptID, err)
	}
	return nil
}

// Attempt is one stored IVS call.
type Attempt struct {
	ID             int64
	RecordID       int64
	Generation     int
	UUID           string
	Endpoint       string
	State          string // in_flight, finished, abandoned
	StartedAt      time.Time
	HTTPStatus     int
	Code           string
	RequestID      string
	Class          string
	Billed         bool
	PossiblyBilled bool
	MediaNote      string
}

// ListAttempts returns the attempts of a batch's records in id order.
func (s *Store) ListAttempts(ctx context.Context, batchID int64) ([]Attempt, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.record_id, a.generation, a.uuid, a.endpoint, a.state, a.started_at, coalesce(a.http_status, 0),
		       coalesce(a.code, ''), coalesce(a.request_id, ''), coalesce(a.class, ''), a.billed, a.possibly_billed, a.media_note
		FROM attempts a JOIN records r ON r.id = a.record_id WHERE r.batch_id = $1 ORDER BY a.id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: list attempts of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.ID, &a.RecordID, &a.Generation, &a.UUID, &a.Endpoint, &a.State, &a.StartedAt, &a.HTTPStatus,
			&a.Code, &a.RequestID, &a.Class, &a.Billed, &a.PossiblyBilled, &a.MediaNote); err != nil {
			return nil, fmt.Errorf("store: scan attempt: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// StaleAttempt is an attempt still in_flight long after it started: the
// worker died between the call and storing its outcome, so the call may have
// been billed.
type StaleAttempt struct {
	ID           int64
	RecordID     int64
	BatchID      int64
	UUID         string
	StartedAt    time.Time
	RecordStatus pipeline.Status
	Closed       bool // marked abandoned + possibly billed by CloseStaleAttempts
}

// CloseStaleAttempts finds attempts in_flight that started before olderThan.
// Those whose record is no longer in_flight (no Claim will close them) are
// marked abandoned and possibly billed; the others are left for the record's
// next Claim, which closes them and counts them against its attempts.
func (s *Store) CloseStaleAttempts(ctx context.Context, olderThan time.Time, dryRun bool) ([]StaleAttempt, error) {
	var out []StaleAttempt
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT a.id, a.record_id, r.batch_id, a.uuid, a.started_at, r.status
			FROM attempts a JOIN records r ON r.id = a.record_id
			WHERE a.state = 'in_flight' AND a.started_at < $1
			ORDER BY a.id FOR UPDATE OF a`, olderThan)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var a StaleAttempt
			var st string
			if err := rows.Scan(&a.ID, &a.RecordID, &a.BatchID, &a.UUID, &a.StartedAt, &st); err != nil {
				rows.Close()
				return err
			}
			a.RecordStatus = pipeline.Status(st)
			if a.RecordStatus != pipeline.StatusInFlight && !dryRun {
				a.Closed = true
				ids = append(ids, a.ID)
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE attempts SET state = 'abandoned', finished_at = now(), possibly_billed = true,
			message = 'abandoned (reconcile): the worker stopped before storing the outcome'
			WHERE id = ANY ($1) AND state = 'in_flight'`, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: stale attempts: %w", err)
	}
	return out, nil
}
