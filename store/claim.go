package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

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
