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
func (s *Store) Dedup(ctx context.Context, rec *pipeline.Record, digest []byte, window time.Duration) (*pipeline.Record, bool, error) {
	if len(digest) < 8 {
		return nil, false, errors.New("store: dedup: digest too short")
	}
	var priorID int64
	wait := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := asyncCommit(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(digest))); err != nil {
			return fmt.Errorf("lock digest: %w", err)
		}
		if !rec.Reverify {
			across := window > 0
			var other int64
			err := tx.QueryRow(ctx, dedupInProgressSQL, digest, rec.ID, pipeline.StatusStrings(pipeline.OpenStatuses), rec.BatchID, across).Scan(&other)
			switch {
			case err == nil:
				wait = true
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("identical inputs in progress: %w", err)
			}
			err = tx.QueryRow(ctx, dedupPriorSQL, digest, rec.ID, pipeline.StatusStrings(pipeline.TerminalStatuses),
				pipeline.ReusableCodes(), rec.BatchID, across, window.Seconds()).Scan(&priorID)
			switch {
			case err == nil:
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("earlier verdict of identical inputs: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE records SET input_digest = $2 WHERE id = $1`, rec.ID, digest)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: dedup record %d: %w", rec.ID, err)
	}
	if priorID == 0 {
		return nil, wait, nil
	}
	prior, err := s.GetRecord(ctx, priorID)
	return prior, false, err
}

// The two look-ups of Dedup. Both find rows by input_digest first (the
// records_input_digest index), so they cost the same at any table size.
const (
	// dedupInProgressSQL: an open record with the digest, in the batch or
	// (across = $5) any batch: its call is on its way.
	dedupInProgressSQL = `
		SELECT id FROM records
		WHERE input_digest = $1 AND id <> $2 AND status = ANY ($3) AND (batch_id = $4 OR $5)
		LIMIT 1`
	// dedupPriorSQL: a final record with a verdict and the digest: any
	// verdict in the batch; across batches ($6) a reusable one ($4) that
	// finished within the window ($7 seconds).
	dedupPriorSQL = `
		SELECT coalesce(linked_record_id, id) FROM records
		WHERE input_digest = $1 AND id <> $2 AND status = ANY ($3) AND verification_code IS NOT NULL
		  AND (batch_id = $5
		       OR ($6 AND verification_code = ANY ($4) AND finished_at > now() - make_interval(secs => $7)))
		ORDER BY finished_at DESC LIMIT 1`
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
