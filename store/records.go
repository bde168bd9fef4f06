package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

const recordColumns = `id, batch_id, ref, line, shape, name_enc, id_number_enc, idcard_image1, idcard_image2, face_image,
	video, actions, nod_threshold, detail, crop, status, generation, attempts, reverify, linked_record_id, coalesce(verdict, ''),
	verification_code, coalesce(verification_message, ''), similarity, idcard_result, video_alive, video_actions,
	coalesce(last_error_code, ''), coalesce(last_error_message, ''), created_at, updated_at, finished_at,
	coalesce(picture_ref, ''), metadata_enc, infra_failures, infra_since`

// scanRecord reads one row of recordColumns and opens its personal fields.
func (s *Store) scanRecord(row pgx.Row) (*pipeline.Record, error) {
	var (
		r                    pipeline.Record
		shape, status        string
		idcard, videoActions []byte
	)
	err := row.Scan(&r.ID, &r.BatchID, &r.Ref, &r.Line, &shape, &r.Name, &r.IDNumber, &r.IDCard1, &r.IDCard2,
		&r.FaceImage, &r.Video, &r.Actions, &r.NodThreshold, &r.Detail, &r.Crop, &status, &r.Generation, &r.Attempts,
		&r.Reverify, &r.LinkedRecordID, &r.Result, &r.Code, &r.Message, &r.Similarity, &idcard, &r.VideoAlive, &videoActions,
		&r.LastErrorCode, &r.LastErrorMessage, &r.CreatedAt, &r.UpdatedAt, &r.FinishedAt, &r.PictureRef, &r.Metadata,
		&r.InfraFailures, &r.InfraSince)
	if err != nil {
		return nil, err
	}
	r.Shape, r.Status = ivs.Shape(shape), pipeline.Status(status)
	if r.Name, err = s.keys.Open(r.Name, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: name: %w", r.ID, err)
	}
	if r.IDNumber, err = s.keys.Open(r.IDNumber, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: id number: %w", r.ID, err)
	}
	if err := s.openInputs(&r); err != nil {
		return nil, err
	}
	if len(idcard) > 0 {
		r.IDCardResult = new(ivs.IDCardResult)
		if err := json.Unmarshal(idcard, r.IDCardResult); err != nil {
			return nil, fmt.Errorf("decode idcard_result: %w", err)
		}
		if err := s.openOCR(r.IDCardResult, r.ID); err != nil {
			return nil, fmt.Errorf("record %d: %w", r.ID, err)
		}
	}
	if len(videoActions) > 0 {
		if err := json.Unmarshal(videoActions, &r.VideoActions); err != nil {
			return nil, fmt.Errorf("decode video_actions: %w", err)
		}
	}
	return &r, nil
}

// openInputs opens the sealed media references and metadata of r. A
// reference stored in clear before they were sealed (it starts with s3:// or
// file://) is returned as it is, until enqueue rekey seals it.
func (s *Store) openInputs(r *pipeline.Record) error {
	for _, f := range []*string{&r.IDCard1, &r.IDCard2, &r.FaceImage, &r.Video, &r.Metadata} {
		if legacyClearRef(*f) {
			continue
		}
		plain, err := s.keys.Open(*f, r.ID)
		if err != nil {
			return fmt.Errorf("record %d: media reference or metadata: %w", r.ID, err)
		}
		*f = plain
	}
	return nil
}

// legacyClearRef reports whether v is a media reference stored in clear.
func legacyClearRef(v string) bool {
	return strings.HasPrefix(v, "s3://") || strings.HasPrefix(v, "file://")
}

// GetRecord returns record id.
func (s *Store) GetRecord(ctx context.Context, id int64) (*pipeline.Record, error) {
	r, err := s.scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM records WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: record %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get record %d: %w", id, err)
	}
	return r, nil
}

// ListRecords returns the records of a batch in id order.
func (s *Store) ListRecords(ctx context.Context, batchID int64) ([]*pipeline.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE batch_id = $1 ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []*pipeline.Record
	for rows.Next() {
		r, err := s.scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Claim marks the record in_flight for ref's generation and returns it. An
// attempt a crashed worker left open is closed as abandoned: marked possibly
// billed (it may have reached IVS) and counted against the record's attempts.
// An attempt in flight for less than the call grace may belong to a task
// that still runs (a redelivered task of the same generation): the record
// is left alone and a *pipeline.CallInFlight returned, so that two calls for
// one record never run at once. One round trip (claimSQL), committed
// asynchronously (see oneTrip).
func (s *Store) Claim(ctx context.Context, ref pipeline.TaskRef) (*pipeline.Record, error) {
	// Nearly every task finds its record queued with nothing reserved or in
	// flight: claimQueuedManySQL, a plain update, claims it together with
	// the records of other tasks claiming at the same moment. Anything else
	// (leftover attempts, another status) takes claimSQL.
	cw := &claimWrite{ref: ref}
	err := s.claims.write(ctx, &groupWrite{claim: cw, reset: func() { cw.rec, cw.err = nil, nil }})
	if err == nil {
		err = cw.err
	}
	rec := cw.rec
	if err == nil && rec == nil {
		err = s.oneTrip(ctx, true, func(b *pgx.Batch) {
			b.Queue(claimSQL, ref.RecordID, ref.Generation, terminal, s.callGrace.Seconds()).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					r, err := s.scanRecord(rows)
					if err != nil {
						return err
					}
					rec = r
				}
				return rows.Err()
			})
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim record %d: %w", ref.RecordID, err)
	}
	if rec == nil {
		return nil, s.whyNotClaimed(ctx, ref)
	}
	return rec, nil
}

// claimWrite is one task's claim in a group of claims.
type claimWrite struct {
	ref pipeline.TaskRef
	rec *pipeline.Record // claimed; nil: claimSQL must decide
	err error
}

// claimQueued runs a group of claims as one statement (claimQueuedManySQL),
// committed asynchronously, and hands each task its record. Two tasks of one
// record in a group (a redelivery): the first gets it, the other goes on to
// claimSQL, as it would a moment later.
func (s *Store) claimQueued(ctx context.Context, group []*groupWrite) error {
	order := slices.Clone(group)
	slices.SortFunc(order, func(a, b *groupWrite) int { return cmp.Compare(a.claim.ref.RecordID, b.claim.ref.RecordID) })
	ids, gens := make([]int64, len(order)), make([]int32, len(order))
	for i, w := range order {
		ids[i], gens[i] = w.claim.ref.RecordID, int32(w.claim.ref.Generation)
	}
	var scanErr error
	var claimed []*pipeline.Record
	err := s.oneTrip(ctx, true, func(b *pgx.Batch) {
		b.Queue(claimQueuedManySQL, ids, gens).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				r, err := s.scanRecord(rows)
				if err != nil {
					scanErr = err // a record that cannot be read: the tasks left without one get the error
					continue
				}
				claimed = append(claimed, r)
			}
			if err := rows.Err(); err != nil && scanErr == nil {
				scanErr = err
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, r := range claimed {
		for _, w := range group {
			if c := w.claim; c.rec == nil && c.ref.RecordID == r.ID && c.ref.Generation == r.Generation {
				c.rec = r
				break
			}
		}
	}
	for _, w := range group {
		if w.claim.rec == nil {
			w.claim.err = scanErr
		}
	}
	return nil
}

// claimQueuedManySQL claims each record of $1 (ascending ids, so that two
// groups lock in the same order) at the generation of $2 (in the same
// position) that is queued and has no attempt reserved or in flight:
// claimSQL would release and close nothing, so one update does. A record
// left out is for claimSQL to decide. Each record is locked first (FOR
// UPDATE: a claim that changed it meanwhile is seen) and then checked.
//
// Every look-up goes by key, one task at a time: records by id, attempts by
// record_id, with the status and state conditions outside the scans
// (OFFSET 0 keeps them out). A condition inside would let the planner use
// a partial index whose predicate it implies (records_open, attempts_batch_slot)
// and filter it whole: cheap while the index is empty, as in a new
// database's first minute, and kept in the cached plan as the index grows.
var claimQueuedManySQL = `
	UPDATE records SET status = 'in_flight', updated_at = now()
	FROM (SELECT r.id AS claimed FROM unnest($1::bigint[], $2::int[]) AS task(rid, gen),
	      LATERAL (SELECT id, generation, status FROM records WHERE id = task.rid OFFSET 0 FOR UPDATE) r
	      WHERE r.generation = task.gen AND r.status = 'queued'
	        AND NOT EXISTS (SELECT 1 FROM (SELECT state FROM attempts a WHERE a.record_id = task.rid OFFSET 0) att
	                        WHERE att.state IN ('reserved', 'in_flight'))) ok
	WHERE records.id = ok.claimed
	RETURNING ` + recordColumns

// claimSQL claims record $1 for generation $2 unless it is final ($3) or
// has an attempt in flight younger than $4 seconds (callWait): reserved attempts (never
// sent) are deleted and their budget slots given back; attempts in flight
// (their worker is gone) are closed as abandoned, possibly billed, and
// counted. It returns the claimed record, or no row.
var claimSQL = `
	WITH r AS (
		SELECT id, status, generation FROM records WHERE id = $1 FOR UPDATE),
	ok AS (
		SELECT id AS rid FROM r
		WHERE generation = $2 AND status <> ALL ($3)
		  AND NOT (status = 'in_flight' AND (` + callWait("$1", "$4") + `) > 0)),
	released AS (
		DELETE FROM attempts a USING ok WHERE a.record_id = ok.rid AND a.state = 'reserved' RETURNING a.batch_id),
	slots AS (
		UPDATE batches b SET budget_used = GREATEST(0, b.budget_used - d.n)
		FROM (SELECT batch_id, count(*) AS n FROM released GROUP BY batch_id) d WHERE b.id = d.batch_id),
	abandoned AS (
		UPDATE attempts a SET state = 'abandoned', finished_at = now(), possibly_billed = true,
		       message = 'abandoned: the worker stopped before storing the outcome'
		FROM ok WHERE a.record_id = ok.rid AND a.state = 'in_flight' RETURNING a.id)
	UPDATE records SET status = 'in_flight', attempts = attempts + (SELECT count(*) FROM abandoned), updated_at = now()
	FROM ok WHERE records.id = ok.rid
	RETURNING ` + recordColumns

// whyNotClaimed says why claimSQL returned no row.
func (s *Store) whyNotClaimed(ctx context.Context, ref pipeline.TaskRef) error {
	var (
		status string
		gen    int
		wait   float64
	)
	err := s.pool.QueryRow(ctx, `SELECT status, generation, (`+callWait("$1", "$2")+`) FROM records WHERE id = $1`,
		ref.RecordID, s.callGrace.Seconds()).Scan(&status, &gen, &wait)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("store: claim: record %d: %w", ref.RecordID, pipeline.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: claim: record %d: %w", ref.RecordID, err)
	case pipeline.Status(status).Terminal():
		return fmt.Errorf("store: claim: record %d is %s: %w", ref.RecordID, status, pipeline.ErrTerminal)
	case gen != ref.Generation:
		return fmt.Errorf("store: claim: record %d is at generation %d, task has %d: %w", ref.RecordID, gen,
			ref.Generation, pipeline.ErrStaleGeneration)
	case wait > 0:
		return fmt.Errorf("store: claim: record %d: %w", ref.RecordID, &pipeline.CallInFlight{Wait: time.Duration(wait * float64(time.Second))})
	}
	return fmt.Errorf("store: claim: record %d changed while being claimed; try again", ref.RecordID)
}

// callWait is a query of how many seconds until every attempt of the record
// (placeholder rec) in flight is older than the call grace (placeholder
// grace, in seconds), 0 when none is that recent. The claim, its
// explanation and lost-task recovery share it.
func callWait(rec, grace string) string {
	return `SELECT GREATEST(0, coalesce(extract(epoch FROM max(started_at) + make_interval(secs => ` + grace +
		`::float8) - now()), 0))::float8 FROM attempts WHERE record_id = ` + rec + ` AND state = 'in_flight'`
}

// oneTrip runs the statements queue adds as one transaction sent in one
// round trip (BEGIN, the statements, COMMIT in a pgx batch). An error in
// any statement rolls the whole transaction back (the connection, left in
// a failed transaction, is then closed by the pool).
//
// async commits without waiting for the WAL flush. It is used only by the
// transactions before a call (claim, dedup, reserve), whose loss in a
// Postgres crash costs nothing: no call has gone out yet, and Send, the
// last write before a call, commits synchronously, which flushes the WAL up
// to and including theirs. The row locks they take (the batch's budget row
// above all, which every reservation updates) are then held for the
// statement instead of a disk flush, and reservations do not queue behind
// each other's flushes.
func (s *Store) oneTrip(ctx context.Context, async bool, queue func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if async {
		b.Queue("SET LOCAL synchronous_commit = off")
	}
	queue(b)
	b.Queue("COMMIT")
	return s.pool.SendBatch(ctx, b).Close()
}

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

// Finish completes the attempt (if any) and applies the outcome to the record
// in one transaction, committed synchronously (a paid call's outcome is
// durable before the task is acknowledged) and shared with other tasks'
// writes (see group.go). The record changes only if it is not terminal and is
// still at o.Generation; otherwise the attempt is still completed and
// ErrTerminal (or ErrStaleGeneration) is returned.
func (s *Store) Finish(ctx context.Context, o pipeline.Outcome) error {
	var idcard, videoActions []byte
	var err error
	if o.Verdict.IDCardResult != nil {
		sealed := *o.Verdict.IDCardResult
		if err := s.sealOCR(&sealed, o.RecordID); err != nil {
			return fmt.Errorf("store: record %d: %w", o.RecordID, err)
		}
		if idcard, err = json.Marshal(sealed); err != nil {
			return fmt.Errorf("store: encode idcard_result: %w", err)
		}
	}
	if o.Verdict.VideoActions != nil {
		if videoActions, err = json.Marshal(o.Verdict.VideoActions); err != nil {
			return fmt.Errorf("store: encode video_actions: %w", err)
		}
	}
	unchanged := false
	queue := func(b *pgx.Batch) {
		if o.AttemptID != 0 {
			a := o.Attempt
			// The attempt holds a budget slot while reserved or in flight,
			// and afterwards only if it was (possibly) billed: the batch's
			// budget_used follows in the same statement.
			b.Queue(`
				WITH old AS (
					SELECT id, batch_id, (state IN ('reserved', 'in_flight') OR billed OR possibly_billed) AS held
					FROM attempts WHERE id = $1 FOR UPDATE),
				upd AS (
					UPDATE attempts a SET state = 'finished', finished_at = $2,
					       duration_ms = GREATEST(0, (extract(epoch FROM ($2 - a.started_at)) * 1000)::int),
					       http_status = $3, code = $4, message = $5, request_id = $6, class = $7,
					       billed = $8, possibly_billed = $9
					FROM old WHERE a.id = old.id
					RETURNING a.batch_id, old.held, (a.billed OR a.possibly_billed) AS holds)
				UPDATE batches b SET budget_used = GREATEST(0, b.budget_used + upd.holds::int - upd.held::int)
				FROM upd WHERE b.id = upd.batch_id AND upd.holds <> upd.held`, o.AttemptID, a.FinishedAt, nullIfZero(a.HTTPStatus), nullIfEmpty(a.Code),
				nullIfEmpty(a.Message), nullIfEmpty(a.RequestID), a.Class.String(), a.Billed, a.PossiblyBilled)
		}
		// The attempt is completed (the call stays accounted for) even when
		// the record is not changed below.
		count := 0
		if o.CountAttempt {
			count = 1
		}
		v := o.Verdict
		b.Queue(`
			UPDATE records SET status = $3, attempts = attempts + $4,
			       verdict = coalesce($5, verdict), verification_code = coalesce($6, verification_code),
			       verification_message = coalesce($7, verification_message), similarity = coalesce($8, similarity),
			       idcard_result = coalesce($9, idcard_result), video_alive = coalesce($10, video_alive),
			       video_actions = coalesce($11, video_actions),
			       last_error_code = $12, last_error_message = $13, linked_record_id = coalesce($14, linked_record_id),
			       picture_ref = coalesce($15, picture_ref),
			       infra_failures = CASE WHEN $16 THEN infra_failures + 1 WHEN $17 THEN 0 ELSE infra_failures END,
			       infra_since = CASE WHEN $16 THEN coalesce(infra_since, now()) WHEN $17 THEN NULL ELSE infra_since END,
			       updated_at = now(), finished_at = CASE WHEN $3 = ANY ($18) THEN now() END
			WHERE id = $1 AND generation = $2 AND status <> ALL ($18)`,
			o.RecordID, o.Generation, string(o.Status), count, nullIfEmpty(v.Result), v.Code, nullIfEmpty(v.Message),
			v.Similarity, idcard, v.VideoAlive, videoActions, nullIfEmpty(o.ErrorCode), nullIfEmpty(o.ErrorMessage),
			o.LinkedRecordID, nullIfEmpty(v.PictureRef), o.Infra, o.AttemptID != 0, terminal).Exec(func(tag pgconn.CommandTag) error {
			unchanged = tag.RowsAffected() == 0
			return nil
		})
	}
	err = s.group.write(ctx, &groupWrite{queue: queue, reset: func() { unchanged = false }})
	if err != nil {
		return fmt.Errorf("store: finish record %d: %w", o.RecordID, err)
	}
	if unchanged {
		return s.whyUnchanged(ctx, o)
	}
	return nil
}

// whyUnchanged says why Finish left the record as it was: it is final
// already (ErrTerminal), or at another generation (ErrStaleGeneration).
func (s *Store) whyUnchanged(ctx context.Context, o pipeline.Outcome) error {
	var status string
	var gen int
	err := s.pool.QueryRow(ctx, `SELECT status, generation FROM records WHERE id = $1`, o.RecordID).Scan(&status, &gen)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("store: record %d: %w", o.RecordID, pipeline.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: record %d: %w", o.RecordID, err)
	case gen != o.Generation:
		return fmt.Errorf("store: record %d at generation %d: %w", o.RecordID, gen, pipeline.ErrStaleGeneration)
	}
	return fmt.Errorf("store: record %d is %s: %w", o.RecordID, status, pipeline.ErrTerminal)
}

// terminal is pipeline.TerminalStatuses as a text[] query argument.
var terminal = pipeline.StatusStrings(pipeline.TerminalStatuses)

func nullIfZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// sealOCR seals the OCR result's personal fields (name, number, address).
func (s *Store) sealOCR(r *ivs.IDCardResult, recordID int64) error {
	for _, f := range []*string{&r.Name, &r.Number, &r.Address} {
		sealed, err := s.keys.Seal(*f, recordID)
		if err != nil {
			return fmt.Errorf("seal OCR result: %w", err)
		}
		*f = sealed
	}
	return nil
}

// openOCR is the inverse of sealOCR.
func (s *Store) openOCR(r *ivs.IDCardResult, recordID int64) error {
	for _, f := range []*string{&r.Name, &r.Number, &r.Address} {
		plain, err := s.keys.Open(*f, recordID)
		if err != nil {
			return fmt.Errorf("open OCR result: %w", err)
		}
		*f = plain
	}
	return nil
}
