package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// RecordOutline is what an export needs to know of a record before writing
// its header: the record's shape and its customer's columns (opened).
type RecordOutline struct {
	ID       int64
	Shape    pipeline.Shape
	Metadata string // the customer's columns, a JSON object; "" when none
}

// eachOutlineSQL reads a chunk of batch $1's records after id $2, at most
// $3, in id order: id, shape and the sealed metadata, nothing else.
const eachOutlineSQL = `
	SELECT id, shape, metadata_enc FROM records WHERE batch_id = $1 AND id > $2 ORDER BY id LIMIT $3`

// eachOutlineChunk is how many outlines a chunk reads (a sealed metadata is
// at most about 11 KiB: a chunk holds a few MB at worst).
const eachOutlineChunk = 500

// EachOutline calls fn with the outline of every record of batchID, in id
// order, read in chunks: memory stays flat whatever the batch's size.
func (s *Store) EachOutline(ctx context.Context, batchID int64, fn func(RecordOutline) error) error {
	var after int64
	for {
		rows, err := s.pool.Query(ctx, eachOutlineSQL, batchID, after, eachOutlineChunk)
		if err != nil {
			return fmt.Errorf("store: outlines of batch %d: %w", batchID, err)
		}
		outs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RecordOutline, error) {
			var o RecordOutline
			var shape string
			err := row.Scan(&o.ID, &shape, &o.Metadata)
			o.Shape = pipeline.Shape(shape)
			return o, err
		})
		if err != nil {
			return fmt.Errorf("store: outlines of batch %d after %d: %w", batchID, after, err)
		}
		if len(outs) == 0 {
			return nil
		}
		for _, o := range outs {
			if o.Metadata != "" && !legacyClearRef(o.Metadata) {
				if o.Metadata, err = s.keys.Open(o.Metadata, o.ID); err != nil {
					return fmt.Errorf("store: record %d: metadata: %w", o.ID, err)
				}
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		after = outs[len(outs)-1].ID
	}
}
