package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Dedup implements pipeline.Deduper over records.input_digest (indexed, so
// a look-up costs the same however many records there are). A transaction
// lock on the digest makes "is anyone verifying these inputs? if not, it is
// me" atomic across workers. The digest is stored only on the record that
// calls IVS, so an open record with the digest is one whose call is on its
// way: identical records wait for it rather than pay twice.
func (s *Store) Dedup(ctx context.Context, rec *pipeline.Record, digests [][]byte, window time.Duration) (*pipeline.Record, bool, error) {
	if len(digests) == 0 || len(digests[0]) < 8 {
		return nil, false, errors.New("store: dedup: digest too short")
	}
	w := &dedupWrite{rec: rec, digests: digests, window: window}
	err := s.commit.beforeCall.Write(ctx, w)
	if err == nil {
		err = w.err
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: dedup record %d: %w", rec.ID, err)
	}
	if w.other != 0 {
		return nil, true, nil
	}
	if w.priorID == 0 {
		return nil, false, nil
	}
	prior, err := s.getRecord(ctx, w.priorID, false)
	return prior, false, err
}

// dedupWrite is Dedup's write: one transaction, committed asynchronously
// in a group commit with other tasks' writes (see oneTrip, group.go), that
// locks the digest, looks for identical inputs in progress (other) and for
// an earlier verdict (priorID), and stores the digest on the record when
// neither exists (the record is then the one that calls IVS).
type dedupWrite struct {
	rec            *pipeline.Record
	digests        [][]byte // the first is stored; any is found (a rotation of the index key)
	window         time.Duration
	other, priorID int64
	err            error
}

func (w *dedupWrite) Reset() { w.other, w.priorID, w.err = 0, 0, nil }

func (w *dedupWrite) queue(b *pgx.Batch) {
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(w.digests[0])))
	if w.rec.Reverify {
		b.Queue(`UPDATE records SET input_digest = $2 WHERE id = $1`, w.rec.ID, w.digests[0])
		return
	}
	b.Queue(dedupSQL, w.digests, w.rec.ID, moving, w.rec.BatchID, w.window > 0, terminal, pipeline.ReusableCodes(),
		w.window.Seconds()).QueryRow(func(row pgx.Row) error {
		w.err = row.Scan(&w.other, &w.priorID)
		return nil
	})
}

// The two look-ups of Dedup read the records with the digest first (the
// records_input_digest index; at most a few rows, identical inputs), and
// only those: the candidates are a materialized CTE, so the planner cannot
// fold the look-ups' other conditions into a scan of another index (the
// batch's status, which stale statistics made look cheap) or of the table.
// The statistics a submit leaves (every record of the batch pending, no
// digest) made the plain form read every finished record of the batch for
// each look-up: 15 ms per record at 20,000, O(n²) over a batch, and the
// Postgres CPU that kept two workers under a 200/s quota (bench/README.md,
// "The 200/s row"). This form costs the same at any table size, generic
// plan or not (TestDedupLookupsUseDigestIndex).
const (
	// dedupSameSQL: the records other than $2 with one of the digests $1.
	dedupSameSQL = `
		SELECT id, batch_id, status, verification_code, finished_at, linked_record_id FROM records
		WHERE input_digest = ANY ($1) AND id <> $2`
	// dedupInProgressSQL: an open one ($3: open statuses) in the batch $4
	// or (across = $5) any batch: its call is on its way.
	dedupInProgressSQL = `
		SELECT id FROM same WHERE status = ANY ($3) AND (batch_id = $4 OR $5) LIMIT 1`
	// dedupPriorSQL: a final one ($6: final statuses) with a verdict: any
	// verdict in the batch; across batches ($5) a reusable one ($7) that
	// finished within the window ($8 seconds).
	dedupPriorSQL = `
		SELECT coalesce(linked_record_id, id) FROM same
		WHERE status = ANY ($6) AND verification_code IS NOT NULL
		  AND (batch_id = $4
		       OR ($5 AND verification_code = ANY ($7) AND finished_at > now() - make_interval(secs => $8)))
		ORDER BY finished_at DESC LIMIT 1`
	// dedupSQL returns both look-ups' ids, 0 for none, and stores the
	// digest on record $2 when both are 0 (under the digest's lock, taken
	// by the statement before, so no other record can slip in between).
	dedupSQL = `
		WITH same AS MATERIALIZED (` + dedupSameSQL + `),
		look AS (
			SELECT coalesce((` + dedupInProgressSQL + `), 0) AS other, coalesce((` + dedupPriorSQL + `), 0) AS prior),
		mark AS (
			UPDATE records SET input_digest = ($1::bytea[])[1] FROM look
			WHERE records.id = $2 AND look.other = 0 AND look.prior = 0)
		SELECT other, prior FROM look`
)

// ReusedCount is how many records of batch were answered by reusing the
// verdict of a record with identical inputs (nothing was sent for them).
func (s *Store) ReusedCount(ctx context.Context, batchID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE batch_id = $1 AND linked_record_id IS NOT NULL`,
		batchID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: reused records of batch %d: %w", batchID, err)
	}
	return n, nil
}
