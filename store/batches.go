package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BatchFilter selects batches for ListBatches. Empty fields do not filter.
type BatchFilter struct {
	State pipeline.BatchState // as ListBatches reports it
	Since time.Time           // created, or finished, at or after Since
	Name  string              // part of the name, any case
	// Before pages: only batches with ids below it (the last id of the
	// previous page; 0 from the newest).
	Before int64
	Limit  int // most batches, newest first (default 50)
}

// BatchSummary is one batch as ops batches lists it.
type BatchSummary struct {
	pipeline.Batch
	// State is the stored state, except that a batch stored open without
	// open records reads finished (until SettleBatches stores it) and one
	// stored finished with open records again (requeued) reads open.
	State      pipeline.BatchState
	FinishedAt *time.Time // when SettleBatches (or cancel) found it finished
	Counts     Counts
	Rows       int // manifest rows, refused and review ones included
}

// listBatchesSQL lists batches newest first with their counts by status
// (the count deltas, O(1) rows per batch) and their effective state. The
// batches are read by primary key, newest first, and stop at the limit; the
// filters are applied as they come (batches is one row per manifest).
var listBatchesSQL = `
	SELECT b.id, b.name, b.source, b.manifest_sha256, b.created_at, eff.state, b.finished_at, b.rows_total,
	       coalesce(c.counts, '{}')
	FROM batches b
	LEFT JOIN LATERAL (
		SELECT jsonb_object_agg(status, n) AS counts, coalesce(sum(n) FILTER (WHERE status = ANY ($1)), 0) AS open
		FROM (SELECT status, sum(n) AS n FROM record_counts WHERE batch_id = b.id GROUP BY status HAVING sum(n) <> 0) s
	) c ON true
	CROSS JOIN LATERAL (SELECT CASE WHEN b.state = ANY ($2) THEN b.state
	                                WHEN coalesce(c.open, 0) > 0 THEN ` + sqlText(pipeline.BatchOpen) + `
	                                ELSE ` + sqlText(pipeline.BatchFinished) + ` END AS state) eff
	WHERE ($3::text = '' OR eff.state = $3)
	  AND ($4::timestamptz IS NULL OR b.created_at >= $4 OR b.finished_at >= $4)
	  AND ($5::text = '' OR strpos(lower(b.name), lower($5)) > 0)
	  AND ($7::bigint = 0 OR b.id < $7)
	ORDER BY b.id DESC
	LIMIT $6`

// ListBatches lists the batches f selects, newest first, with their counts.
func (s *Store) ListBatches(ctx context.Context, f BatchFilter) ([]BatchSummary, error) {
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	var out []BatchSummary
	err := s.readThroughIndexes(ctx, func(q *pgx.Batch) {
		q.Queue(listBatchesSQL, openStatuses, heldStrings(), string(f.State), since, f.Name, cmp.Or(f.Limit, 50), f.Before).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var (
						b      BatchSummary
						state  string
						counts map[string]int
					)
					if err := rows.Scan(&b.ID, &b.Name, &b.Source, &b.ManifestSHA256, &b.CreatedAt, &state, &b.FinishedAt,
						&b.Rows, &counts); err != nil {
						return err
					}
					b.State = pipeline.BatchState(state)
					b.Counts = Counts{ByStatus: map[pipeline.Status]int{}}
					for st, n := range counts {
						b.Counts.ByStatus[pipeline.Status(st)] = n
						b.Counts.Total += n
					}
					if b.State != pipeline.BatchFinished && b.State != pipeline.BatchCancelled {
						b.FinishedAt = nil
					}
					out = append(out, b)
				}
				return rows.Err()
			})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list batches: %w", err)
	}
	return out, nil
}

func heldStrings() []string {
	out := make([]string, len(heldBatches))
	for i, s := range heldBatches {
		out[i] = string(s)
	}
	return out
}

// settleBatchesSQL marks finished the open batches without open records.
var settleBatchesSQL = `
	UPDATE batches b SET state = ` + sqlText(pipeline.BatchFinished) + `, finished_at = now()
	WHERE b.state = ` + sqlText(pipeline.BatchOpen) + `
	  AND NOT EXISTS (SELECT 1 FROM record_counts c WHERE c.batch_id = b.id AND c.status = ANY ($1)
	                  GROUP BY c.status HAVING sum(c.n) > 0)
	RETURNING b.id`

// SettleBatches stores as finished, now, every open batch without open
// records, and returns how many. Workers' feeders call it every few
// seconds, and ops batches before listing; a batch and its records are
// stored in one transaction, so a batch is never seen before its records.
func (s *Store) SettleBatches(ctx context.Context) (int, error) {
	tag, err := s.pool.Exec(ctx, settleBatchesSQL, openStatuses)
	if err != nil {
		return 0, fmt.Errorf("store: settle batches: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// reopenBatchSQL stores batch $1 open again when it was finished and gets
// open records back (requeue, review re-verification, a re-submitted
// manifest's new rows).
var reopenBatchSQL = `UPDATE batches SET state = ` + sqlText(pipeline.BatchOpen) + `, finished_at = NULL
	WHERE id = $1 AND state = ` + sqlText(pipeline.BatchFinished)

// reopenedStatus is the status of a record (alias rec) sent again by a
// requeue or a review re-verification: held when its batch is paused or
// cancelled (ops resume releases it), else pending.
func reopenedStatus(rec string) string {
	return `CASE WHEN EXISTS (SELECT 1 FROM batches hb WHERE hb.id = ` + rec + `.batch_id AND hb.state IN ` +
		sqlIn(heldBatches...) + `) THEN ` + sqlText(pipeline.StatusHeld) + ` ELSE ` + sqlText(pipeline.StatusPending) + ` END`
}

// reopenBatchesOfSQL is reopenBatchSQL for the batches of records $1.
var reopenBatchesOfSQL = `UPDATE batches SET state = ` + sqlText(pipeline.BatchOpen) + `, finished_at = NULL
	WHERE id IN (SELECT DISTINCT batch_id FROM records WHERE id = ANY ($1)) AND state = ` + sqlText(pipeline.BatchFinished)

// ErrBatchState is returned when a batch is not in a state the change
// applies to (resuming a batch that is not paused or cancelled, pausing a
// cancelled one).
var ErrBatchState = errors.New("batch state does not allow this")

// BatchChange is what pausing, resuming or cancelling a batch did.
type BatchChange struct {
	BatchID  int64
	From, To pipeline.BatchState
	// Records moved: queued records put back to pending (pause; their
	// queued tasks are dropped as stale), open records cancelled (cancel),
	// cancelled records re-opened (resume).
	Records int
}

// PauseBatch stops the batch's records being sent: its pending and queued
// records become held at a new generation (out of the feeder's pending
// indexes; the tasks already queued are dropped as stale when a worker
// takes them). Records in flight finish; one that IVS answers with a retry
// may still be sent. Audited in the same transaction.
func (s *Store) PauseBatch(ctx context.Context, batchID int64, a AuditEntry) (BatchChange, error) {
	return s.changeBatch(ctx, batchID, pipeline.BatchPaused, a, func(from pipeline.BatchState) (string, bool) {
		return `UPDATE records SET status = ` + sqlText(pipeline.StatusHeld) + `, generation = generation + 1, updated_at = now()
			WHERE batch_id = $1 AND status IN ` + sqlIn(pipeline.StatusPending, pipeline.StatusQueued),
			from != pipeline.BatchCancelled && from != pipeline.BatchPaused
	})
}

// CancelBatch cancels the batch: its pending, queued and held records end
// failed with code batch.cancelled at a new generation (nothing more is
// sent for them; records in flight finish), and the batch is cancelled.
// ResumeBatch re-opens them. Audited in the same transaction.
func (s *Store) CancelBatch(ctx context.Context, batchID int64, a AuditEntry) (BatchChange, error) {
	return s.changeBatch(ctx, batchID, pipeline.BatchCancelled, a, func(from pipeline.BatchState) (string, bool) {
		return `UPDATE records SET status = ` + sqlText(pipeline.StatusFailed) + `, generation = generation + 1,
			updated_at = now(), finished_at = now(), last_error_code = ` + sqlText(pipeline.CodeBatchCancelled) + `,
			last_error_message = 'the batch was cancelled (ops cancel) before this record was sent'
			WHERE batch_id = $1 AND status IN ` + sqlIn(pipeline.StatusPending, pipeline.StatusQueued, pipeline.StatusHeld),
			from != pipeline.BatchCancelled
	})
}

// ResumeBatch sends a paused or cancelled batch's records again: held
// records, or a cancelled batch's batch.cancelled ones (at a new
// generation, attempts 0), go back to pending. Audited in the same
// transaction.
func (s *Store) ResumeBatch(ctx context.Context, batchID int64, a AuditEntry) (BatchChange, error) {
	return s.changeBatch(ctx, batchID, pipeline.BatchOpen, a, func(from pipeline.BatchState) (string, bool) {
		switch from {
		case pipeline.BatchPaused:
			return `UPDATE records SET status = ` + sqlText(pipeline.StatusPending) + `, updated_at = now()
				WHERE batch_id = $1 AND status = ` + sqlText(pipeline.StatusHeld), true
		case pipeline.BatchCancelled: // and records requeued meanwhile, held
			return `UPDATE records SET status = ` + sqlText(pipeline.StatusPending) + `,
				generation = CASE WHEN status = ` + sqlText(pipeline.StatusHeld) + ` THEN generation ELSE generation + 1 END,
				updated_at = now(), finished_at = NULL, last_error_code = NULL, last_error_message = NULL,
				attempts = CASE WHEN status = ` + sqlText(pipeline.StatusHeld) + ` THEN attempts ELSE 0 END
				WHERE batch_id = $1 AND (status = ` + sqlText(pipeline.StatusHeld) + ` OR (status = ` +
				sqlText(pipeline.StatusFailed) + ` AND last_error_code = ` + sqlText(pipeline.CodeBatchCancelled) + `))`, true
		}
		return "", false
	})
}

// changeBatch moves batch batchID to state to when records(its state)
// allows it, runs the statement records returns (with the batch id as $1)
// and writes the audit row, in one transaction. The batch row is locked first, so two changes of one batch
// run one after the other.
func (s *Store) changeBatch(ctx context.Context, batchID int64, to pipeline.BatchState, a AuditEntry,
	records func(from pipeline.BatchState) (string, bool)) (BatchChange, error) {
	c := BatchChange{BatchID: batchID, To: to}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var from string
		err := tx.QueryRow(ctx, `SELECT state FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("batch %d: %w", batchID, pipeline.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c.From = pipeline.BatchState(from)
		sql, ok := records(c.From)
		if !ok {
			return fmt.Errorf("batch %d is %s: %w", batchID, from, ErrBatchState)
		}
		tag, err := tx.Exec(ctx, sql, batchID)
		if err != nil {
			return err
		}
		c.Records = int(tag.RowsAffected())
		finished := "NULL"
		if to == pipeline.BatchCancelled {
			finished = "now()"
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET state = $2, finished_at = `+finished+` WHERE id = $1`,
			batchID, string(to)); err != nil {
			return err
		}
		a.BatchID = batchID
		a.Result = map[string]any{"from": from, "to": string(to), "records": c.Records}
		return auditOperatorChange(ctx, tx, a)
	})
	if err != nil {
		return c, fmt.Errorf("store: batch %d to %s: %w", batchID, to, err)
	}
	return c, nil
}

// auditOperatorChange writes the audit row of an operator's change (batch
// pause, resume and cancel, review decisions) in the change's transaction,
// with the database's session_user (AuditTx).
func auditOperatorChange(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	return AuditTx(ctx, tx, e)
}
