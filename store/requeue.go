package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// RequeueFilter selects records to re-queue. Empty fields do not filter; at
// least one field must be set.
type RequeueFilter struct {
	BatchID  int64
	Statuses []pipeline.Status // default: every status (open records are then skipped)
	Codes    []string          // last_error_code
	Since    time.Time         // updated_at ≥ Since
	IDs      []int64
}

func (f RequeueFilter) empty() bool {
	return f.BatchID == 0 && len(f.Statuses) == 0 && len(f.Codes) == 0 && f.Since.IsZero() && len(f.IDs) == 0
}

// RequeueOptions say how to re-queue.
type RequeueOptions struct {
	DryRun bool
	// Force re-queues records that have a verdict (done, or review with a
	// verification code): a new, paid verification. Reason is then required.
	Force  bool
	Reason string
	Sample int // rows of the selection to return (default 20)
	// Chunk is how many records one short transaction handles (default 1000).
	Chunk int
	// Progress, when set, is called after each chunk with the totals so far.
	Progress func(RequeueResult)
}

// RequeueRow is one selected record, without personal data.
type RequeueRow struct {
	ID        int64
	Ref       string
	Status    pipeline.Status // before re-queuing
	Code      string          // last_error_code before re-queuing
	Verdict   bool            // had a verdict
	Purged    bool            // its inputs were purged or erased: nothing left to send
	Requeued  bool            // (would be) re-queued
	SkipCause string          // "on its way" (pending, queued, in_flight), "has a verdict (use -force)" or "inputs purged"
}

// RequeueResult is what a requeue did (or, dry run, would do).
type RequeueResult struct {
	Selected       int
	Requeued       int
	SkippedOpen    int // pending, queued or in_flight: already on their way
	SkippedVerdict int // have a verdict and Force was not set
	SkippedPurged  int // their inputs were purged or erased
	ByStatus       map[pipeline.Status]int
	ByCode         map[string]int // of the re-queued records
	Sample         []RequeueRow
	Forced         int     // records re-queued over a verdict (Force)
	ForcedIDs      []int64 // the first MaxForcedIDs of them
	Chunks         int     // chunks handled
	FirstID        int64   // the selection's first and last record id (0: none selected)
	LastID         int64
}

// MaxForcedIDs bounds the ids of forced re-verifications kept in a
// RequeueResult and its audit row (beyond it: the count and the id range).
const MaxForcedIDs = 100

// ErrEmptyFilter is returned by Requeue when no filter field is set.
var ErrEmptyFilter = errors.New("store: requeue needs at least one filter (batch, status, code, since or ids)")

// Requeue re-queues the records f selects: each eligible record gets a new
// generation (so the feeder enqueues it under a new task id, record:ID:gN+1),
// status pending, attempts 0 and no last error. Records pending, queued or
// in_flight are skipped (they are on their way); records with a verdict are
// skipped unless o.Force, in which case their verdict is cleared and they are
// marked reverify (no dedup: a new paid call). With o.DryRun nothing changes.
//
// It works in chunks of o.Chunk records in id order (keyset pagination): the
// chunk is read without locks, then one short UPDATE locks and changes only
// the chunk's records that are still terminal, so records on their way are
// never locked and workers' outcome writes never wait on a requeue. Memory is
// bounded whatever the selection's size. When a is not nil a start row
// (requeue.start) is audited before the first chunk and completed after the last (or after an
// error) by a second row with the filter, the counts and the chunk range,
// never a list of every id.
func (s *Store) Requeue(ctx context.Context, f RequeueFilter, o RequeueOptions, a *AuditEntry) (RequeueResult, error) {
	res := RequeueResult{ByStatus: map[pipeline.Status]int{}, ByCode: map[string]int{}}
	if f.empty() {
		return res, ErrEmptyFilter
	}
	if o.Force && strings.TrimSpace(o.Reason) == "" {
		return res, errors.New("store: a forced requeue needs a reason")
	}
	o.Sample = cmp.Or(o.Sample, 20)
	o.Chunk = cmp.Or(o.Chunk, 1000)
	ids := slices.Compact(slices.Sorted(slices.Values(f.IDs)))
	var auditID int64
	var e AuditEntry
	if a != nil && !o.DryRun {
		e = *a
		if o.Force {
			e.Reason = o.Reason
		}
		var err error
		if auditID, err = s.auditStart(ctx, e); err != nil {
			return res, fmt.Errorf("store: requeue: %w", err)
		}
	}
	err := s.requeueChunks(ctx, f, ids, o, &res)
	if auditID != 0 {
		// The audit row is completed even when ctx was cancelled midway.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if aerr := s.auditFinish(actx, auditID, e, requeueAuditResult(res, err)); aerr != nil && err == nil {
			err = aerr
		}
	}
	if err != nil {
		return res, fmt.Errorf("store: requeue: %w", err)
	}
	return res, nil
}

func (s *Store) requeueChunks(ctx context.Context, f RequeueFilter, ids []int64, o RequeueOptions, res *RequeueResult) error {
	var after int64
	for {
		var chunkIDs []int64
		if len(f.IDs) > 0 {
			i, _ := slices.BinarySearch(ids, after+1)
			if i == len(ids) {
				return nil
			}
			chunkIDs = ids[i:min(i+o.Chunk, len(ids))]
		}
		rows, err := s.requeueSelect(ctx, f, chunkIDs, after, o.Chunk)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			if len(f.IDs) > 0 {
				after = chunkIDs[len(chunkIDs)-1]
				continue
			}
			return nil
		}
		done := map[int64]bool{}
		if !o.DryRun {
			if done, err = s.requeueUpdate(ctx, rows, o.Force); err != nil {
				return err
			}
		}
		res.Chunks++
		for _, r := range rows {
			s.classify(r, o, done, res)
		}
		after = rows[len(rows)-1].ID
		if len(f.IDs) > 0 {
			after = max(after, chunkIDs[len(chunkIDs)-1])
		}
		if o.Progress != nil {
			o.Progress(*res)
		}
	}
}

func (s *Store) classify(r RequeueRow, o RequeueOptions, done map[int64]bool, res *RequeueResult) {
	if res.FirstID == 0 {
		res.FirstID = r.ID
	}
	res.LastID = r.ID
	res.Selected++
	eligible := r.Status.Terminal() && (!r.Verdict || o.Force) && !r.Purged
	switch {
	case o.DryRun && eligible, done[r.ID]:
		r.Requeued = true
		res.Requeued++
		res.ByStatus[r.Status]++
		res.ByCode[r.Code]++
		if r.Verdict {
			res.Forced++
			if len(res.ForcedIDs) < MaxForcedIDs {
				res.ForcedIDs = append(res.ForcedIDs, r.ID)
			}
		}
	case r.Status.Terminal() && r.Purged:
		res.SkippedPurged++
		r.SkipCause = "inputs purged"
	case r.Status.Terminal() && r.Verdict && !o.Force:
		res.SkippedVerdict++
		r.SkipCause = "has a verdict (use -force)"
	default: // open when read, or re-opened by someone else since
		res.SkippedOpen++
		r.SkipCause = "on its way"
	}
	if len(res.Sample) < o.Sample {
		res.Sample = append(res.Sample, r)
	}
}

// hasVerdictSQL is true for a record with a verdict to keep unless forced.
// A reviewer's decision counts as one (review_approved, review_rejected).
var hasVerdictSQL = `(status IN ` + sqlIn(append([]pipeline.Status{pipeline.StatusDone}, reviewDecided...)...) +
	` OR (status = ` + sqlText(pipeline.StatusReview) + ` AND verification_code IS NOT NULL))`

// requeueSelectSQL reads one chunk of the selection, without locks.
var requeueSelectSQL = `
	SELECT id, ref, status, coalesce(last_error_code, ''), ` + hasVerdictSQL + `, purged_at IS NOT NULL
	FROM records
	WHERE id > $6
	  AND ($1 = 0 OR batch_id = $1)
	  AND (coalesce(cardinality($2::text[]), 0) = 0 OR status = ANY ($2))
	  AND (coalesce(cardinality($3::text[]), 0) = 0 OR last_error_code = ANY ($3))
	  AND ($4::timestamptz IS NULL OR updated_at >= $4)
	  AND ($5::bigint[] IS NULL OR id = ANY ($5))
	ORDER BY id LIMIT $7`

func (s *Store) requeueSelect(ctx context.Context, f RequeueFilter, ids []int64, after int64, n int) ([]RequeueRow, error) {
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := s.pool.Query(ctx, requeueSelectSQL, f.BatchID, pipeline.StatusStrings(f.Statuses), f.Codes, since,
		ids, after, n)
	if err != nil {
		return nil, fmt.Errorf("select records after %d: %w", after, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (RequeueRow, error) {
		var r RequeueRow
		var st string
		err := row.Scan(&r.ID, &r.Ref, &st, &r.Code, &r.Verdict, &r.Purged)
		r.Status = pipeline.Status(st)
		return r, err
	})
}

// requeueUpdateSQL re-queues the chunk's records that are still terminal
// (and have no verdict, unless forced). Only those rows are locked: the
// subquery's status filter is applied before FOR UPDATE.
var requeueUpdateSQL = `
	UPDATE records r SET generation = r.generation + 1, status = ` + reopenedStatus("r") + `, attempts = 0,
	       last_error_code = NULL, last_error_message = NULL, finished_at = NULL, updated_at = now(),
	       infra_failures = 0, infra_since = NULL,
	       reverify = r.reverify OR sel.has_verdict,
	       verdict = CASE WHEN sel.has_verdict THEN NULL ELSE r.verdict END,
	       verification_code = CASE WHEN sel.has_verdict THEN NULL ELSE r.verification_code END,
	       verification_message = CASE WHEN sel.has_verdict THEN NULL ELSE r.verification_message END,
	       similarity = CASE WHEN sel.has_verdict THEN NULL ELSE r.similarity END,
	       idcard_result = CASE WHEN sel.has_verdict THEN NULL ELSE r.idcard_result END,
	       video_alive = CASE WHEN sel.has_verdict THEN NULL ELSE r.video_alive END,
	       video_actions = CASE WHEN sel.has_verdict THEN NULL ELSE r.video_actions END,
	       linked_record_id = CASE WHEN sel.has_verdict THEN NULL ELSE r.linked_record_id END
	FROM (SELECT id, ` + hasVerdictSQL + ` AS has_verdict FROM records
	      WHERE id = ANY ($1) AND status = ANY ($2) AND purged_at IS NULL ORDER BY id FOR UPDATE) sel
	WHERE r.id = sel.id AND (NOT sel.has_verdict OR $3)
	RETURNING r.id`

func (s *Store) requeueUpdate(ctx context.Context, rows []RequeueRow, force bool) (map[int64]bool, error) {
	var ids []int64
	for _, r := range rows {
		if r.Status.Terminal() && (!r.Verdict || force) && !r.Purged {
			ids = append(ids, r.ID)
		}
	}
	done := map[int64]bool{}
	if len(ids) == 0 {
		return done, nil
	}
	res, err := s.pool.Query(ctx, requeueUpdateSQL, ids, terminal, force)
	if err != nil {
		return nil, fmt.Errorf("re-queue records %d–%d: %w", ids[0], ids[len(ids)-1], err)
	}
	updated, err := pgx.CollectRows(res, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("re-queue records %d–%d: %w", ids[0], ids[len(ids)-1], err)
	}
	for _, id := range updated {
		done[id] = true
	}
	if len(updated) > 0 {
		if _, err := s.pool.Exec(ctx, reopenBatchesOfSQL, updated); err != nil {
			return done, fmt.Errorf("re-open the batches of records %d–%d: %w", ids[0], ids[len(ids)-1], err)
		}
	}
	return done, nil
}

func requeueAuditResult(r RequeueResult, err error) map[string]any {
	m := map[string]any{"complete": err == nil, "selected": r.Selected, "requeued": r.Requeued,
		"skipped_open": r.SkippedOpen, "skipped_verdict": r.SkippedVerdict, "skipped_purged": r.SkippedPurged, "by_status": r.ByStatus, "by_code": r.ByCode,
		"chunks": r.Chunks, "first_id": r.FirstID, "last_id": r.LastID}
	if r.Forced > 0 {
		m["forced_reverification"] = r.Forced
		if r.Forced <= MaxForcedIDs {
			m["forced_reverification_ids"] = r.ForcedIDs
		}
	}
	if err != nil {
		m["error"] = err.Error()
	}
	return m
}
