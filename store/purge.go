package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
)

// A purge walks finished records in (finished_at, id) order, the index
// records_finished, one kind of data at a time, and removes that kind from
// the records whose outcome is older than the kind's retention. Each kind
// resumes after its mark (purge_marks), so a run reads only what no run
// handled. A chunk is one short transaction that changes only final records
// (finished_at is cleared when a record is re-queued, and re-checked by the
// UPDATE), so workers, which write open records, never wait for it.
//
// Marks assume that a record finishing later has a later finished_at (the
// outcome transaction's start): true to within a transaction's length,
// far below the shortest retention (retention.MinRetention).

// PurgeMark is how far a kind's purge got.
type PurgeMark struct {
	FinishedAt time.Time
	RecordID   int64
}

// PurgeCandidate is a finished record a purge chunk handles.
type PurgeCandidate struct {
	ID         int64
	FinishedAt time.Time
	PictureRef string // the kept liveness picture, if any
}

// GetPurgeMark returns kind's mark (zero: nothing purged yet).
func (s *Store) GetPurgeMark(ctx context.Context, kind retention.Kind) (PurgeMark, error) {
	var m PurgeMark
	err := s.pool.QueryRow(ctx, `SELECT finished_at, record_id FROM purge_marks WHERE kind = $1`, string(kind)).
		Scan(&m.FinishedAt, &m.RecordID)
	if errors.Is(err, pgx.ErrNoRows) {
		return PurgeMark{}, nil
	}
	if err != nil {
		return m, fmt.Errorf("store: purge mark of %s: %w", kind, err)
	}
	return m, nil
}

// purgeCandidatesSQL reads the next chunk after the mark ($1, $2) of records
// finished before $3: a range of records_finished. Records waiting for a
// reviewer are passed over (see purgeableSQL): their pictures are not
// deleted either.
var purgeCandidatesSQL = `
	SELECT id, finished_at, coalesce(picture_ref, '') FROM records
	WHERE finished_at IS NOT NULL AND (finished_at, id) > ($1, $2) AND finished_at < $3
	  AND status <> ` + sqlText(pipeline.StatusReview) + `
	ORDER BY finished_at, id LIMIT $4`

// PurgeCandidates returns at most n records after mark that finished before
// cutoff, in purge order, without locking them.
func (s *Store) PurgeCandidates(ctx context.Context, mark PurgeMark, cutoff time.Time, n int) ([]PurgeCandidate, error) {
	rows, err := s.pool.Query(ctx, purgeCandidatesSQL, mark.FinishedAt, mark.RecordID, cutoff, n)
	if err != nil {
		return nil, fmt.Errorf("store: purge candidates: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PurgeCandidate, error) {
		var c PurgeCandidate
		err := row.Scan(&c.ID, &c.FinishedAt, &c.PictureRef)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: purge candidates: %w", err)
	}
	return out, nil
}

// purgeableSQL is the condition on a record a purge chunk changes: still
// final and finished before the cut-off ($2), and not waiting for a
// reviewer (a record in review keeps its data for the decision, which sets
// finished_at anew: its retention counts from the decision).
var purgeableSQL = `finished_at < $2 AND status <> ` + sqlText(pipeline.StatusReview)

// purgeSQL removes one kind from the chunk's records $1 that are still
// final and finished before $2; each statement returns the ids it changed
// (rows already without that kind are not rewritten).
var purgeSQL = map[retention.Kind]string{
	retention.Pictures: `UPDATE records SET picture_ref = NULL
		WHERE id = ANY ($1) AND ` + purgeableSQL + ` AND picture_ref = ANY ($3) RETURNING id, batch_id`,
	retention.Messages: `WITH a AS (UPDATE attempts SET message = NULL WHERE record_id = ANY ($1) AND message IS NOT NULL
		  AND record_id IN (SELECT id FROM records WHERE id = ANY ($1) AND ` + purgeableSQL + `))
		UPDATE records SET last_error_message = NULL
		WHERE id = ANY ($1) AND ` + purgeableSQL + ` AND last_error_message IS NOT NULL RETURNING id, batch_id`,
	retention.OCR: `UPDATE records SET idcard_result = NULL
		WHERE id = ANY ($1) AND ` + purgeableSQL + ` AND idcard_result IS NOT NULL RETURNING id, batch_id`,
	retention.Inputs: `UPDATE records SET ` + clearInputsSQL + `, purged_at = $3
		WHERE id = ANY ($1) AND ` + purgeableSQL + ` AND purged_at IS NULL RETURNING id, batch_id`,
	// Neither the worker nor the operator role may DELETE records: the
	// function (migration 00014) deletes only what this says.
	retention.Verdicts: `SELECT id, batch_id FROM ivsbatch_delete_verdicts($1, $2)`,
}

// deleteVerdictsSQL is what ivsbatch_delete_verdicts runs, as one statement,
// for EXPLAIN (ExplainPurge).
var deleteVerdictsSQL = `WITH del AS (SELECT id FROM records WHERE id = ANY ($1) AND ` + purgeableSQL + `
		  AND picture_ref IS NULL),
		a AS (DELETE FROM attempts WHERE record_id IN (SELECT id FROM del)),
		d AS (DELETE FROM review_decisions WHERE record_id IN (SELECT id FROM del))
		DELETE FROM records WHERE id IN (SELECT id FROM del) RETURNING id, batch_id`

// clearInputsSQL empties a record's sealed inputs and what was derived
// from them: the blind index of the id number, the input hashes and the
// digest dedup reads (so its verdict is never reused again).
const clearInputsSQL = `name_enc = '', id_number_enc = '', idcard_image1 = '', idcard_image2 = '', face_image = '',
	video = '', metadata_enc = '', id_hmac = NULL, input_hmac = NULL, input_digest = NULL`

// PurgeChunk removes kind from the chunk's records that finished before
// cutoff and moves kind's mark to the chunk's last record, in one
// transaction. pictures are the references whose objects were deleted
// (retention.Pictures: only those references are cleared). A verdict is
// deleted only once its picture is. It returns the number of records
// changed.
func (s *Store) PurgeChunk(ctx context.Context, kind retention.Kind, chunk []PurgeCandidate, cutoff time.Time, pictures []string) (int, error) {
	if len(chunk) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(chunk))
	for i, c := range chunk {
		ids[i] = c.ID
	}
	last := chunk[len(chunk)-1]
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var args []any
		switch kind {
		case retention.Pictures:
			args = []any{ids, cutoff, pictures}
		case retention.Inputs:
			args = []any{ids, cutoff, time.Now()}
		default:
			args = []any{ids, cutoff}
		}
		rows, err := tx.Query(ctx, purgeSQL[kind], args...)
		if err != nil {
			return err
		}
		byBatch := map[int64]int{}
		for rows.Next() {
			var id, batch int64
			if err := rows.Scan(&id, &batch); err != nil {
				return err
			}
			byBatch[batch]++
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if kind == retention.Inputs {
			for b, k := range byBatch {
				if _, err := tx.Exec(ctx, `UPDATE batches SET records_purged = records_purged + $2 WHERE id = $1`, b, k); err != nil {
					return err
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO purge_marks (kind, finished_at, record_id) VALUES ($1, $2, $3)
			ON CONFLICT (kind) DO UPDATE SET finished_at = $2, record_id = $3, updated_at = now()`,
			string(kind), last.FinishedAt, last.ID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge %s of records %d–%d: %w", kind, ids[0], last.ID, err)
	}
	return n, nil
}

// purgeDueSQL counts what a purge of one kind would change after the mark
// ($1, $2) before $3, and the oldest such outcome.
var purgeDueSQL = map[retention.Kind]string{
	retention.Pictures: `picture_ref IS NOT NULL`,
	retention.Messages: `last_error_message IS NOT NULL`,
	retention.OCR:      `idcard_result IS NOT NULL`,
	retention.Inputs:   `purged_at IS NULL`,
	retention.Verdicts: `true`,
}

// PurgeDue counts the records a purge of kind would change now (after the
// mark, finished before cutoff, holding that kind), and the oldest one's
// outcome time (zero: none). For dry runs.
func (s *Store) PurgeDue(ctx context.Context, kind retention.Kind, mark PurgeMark, cutoff time.Time) (int, time.Time, error) {
	var n int
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(finished_at) FROM records
		WHERE finished_at IS NOT NULL AND (finished_at, id) > ($1, $2) AND finished_at < $3
		  AND status <> `+sqlText(pipeline.StatusReview)+` AND `+purgeDueSQL[kind],
		mark.FinishedAt, mark.RecordID, cutoff).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: %s due for purge: %w", kind, err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, *oldest, nil
}

// OldestUnpurged returns the outcome time of the first record after kind's
// mark that finished before cutoff: the oldest data of that kind past its
// retention (zero: none). One index look-up, for the metrics.
func (s *Store) OldestUnpurged(ctx context.Context, kind retention.Kind, cutoff time.Time) (time.Time, error) {
	m, err := s.GetPurgeMark(ctx, kind)
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	err = s.pool.QueryRow(ctx, purgeCandidatesSQL, m.FinishedAt, m.RecordID, cutoff, 1).Scan(new(int64), &t, new(string))
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: oldest %s past retention: %w", kind, err)
	}
	return t, nil
}

// PurgeRun is a stored purge run.
type PurgeRun struct {
	ID         int64
	StartedAt  time.Time
	FinishedAt time.Time
	Complete   bool
}

// SavePurgeRun stores a purge run's summary (any JSON-encodable value) and
// its audit entry in one transaction, and returns the run's id.
func (s *Store) SavePurgeRun(ctx context.Context, started time.Time, complete bool, summary any, a AuditEntry) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO purge_runs (started_at, complete, summary) VALUES ($1, $2, $3)
			RETURNING id`, started, complete, summary).Scan(&id); err != nil {
			return err
		}
		if a.Result == nil {
			a.Result = map[string]any{}
		}
		a.Result["purge_run"] = id
		return AuditTx(ctx, tx, a)
	})
	if err != nil {
		return 0, fmt.Errorf("store: save purge run: %w", err)
	}
	return id, nil
}

// LatestPurge returns the latest purge run (ok = false when none ran yet).
func (s *Store) LatestPurge(ctx context.Context) (r PurgeRun, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT id, started_at, finished_at, complete FROM purge_runs ORDER BY id DESC LIMIT 1`).
		Scan(&r.ID, &r.StartedAt, &r.FinishedAt, &r.Complete)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: latest purge run: %w", err)
	}
	return r, true, nil
}

// ClaimPurgeSlot claims a slot of the purge schedule for worker; it returns
// false when another worker claimed it first.
func (s *Store) ClaimPurgeSlot(ctx context.Context, slot time.Time, worker string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO purge_slots (slot, worker) VALUES ($1, $2) ON CONFLICT (slot) DO NOTHING`,
		slot, worker)
	if err != nil {
		return false, fmt.Errorf("store: claim purge slot %s: %w", slot.Format(time.RFC3339), err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPurgeSlotRun links a claimed purge slot to the run it started.
func (s *Store) SetPurgeSlotRun(ctx context.Context, slot time.Time, runID int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE purge_slots SET run_id = $2 WHERE slot = $1`, slot, runID); err != nil {
		return fmt.Errorf("store: purge slot %s: %w", slot.Format(time.RFC3339), err)
	}
	return nil
}

// purgeLockKey is the advisory lock a purge run holds ("ivsbpurg").
const purgeLockKey int64 = 0x6976736270757267

// ErrPurgeRunning is returned by LockPurge when another purge runs.
var ErrPurgeRunning = errors.New("store: another purge is running")

// LockPurge takes the purge's session lock on a connection of its own, so
// that a purge by hand and the schedule's never walk the same marks at
// once; release gives it back.
func (s *Store) LockPurge(ctx context.Context) (release func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: purge lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLockKey).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: purge lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrPurgeRunning
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, purgeLockKey); err != nil {
			conn.Conn().Close(ctx) // the session ends, and its lock with it
		}
		conn.Release()
	}, nil
}
