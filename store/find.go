package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// findByRefSQL looks ref up in every batch, newest record first: one probe
// of the unique index (batch_id, ref) per batch (a loose index scan by
// hand; Postgres 15 has no skip scan), so no index on ref alone is written
// by every submit. OFFSET 0 keeps the planner from flattening the probe
// into a join over the whole table.
var findByRefSQL = `SELECT r.* FROM batches b
	CROSS JOIN LATERAL (SELECT ` + recordColumns + ` FROM records WHERE batch_id = b.id AND ref = $1 OFFSET 0) r
	ORDER BY r.id DESC LIMIT $2`

// findByIDNumberSQL looks blind indexes (id_hmac: the values IndexAll
// gives) up across batches. No index serves it (00008 dropped
// records_id_hmac: it cost million-row submits more than the rest of the
// insert); an operator's look-up scans records in parallel (see the plan
// noted in the README).
var findByIDNumberSQL = `SELECT ` + recordColumns + ` FROM records WHERE id_hmac = ANY ($1) ORDER BY id DESC LIMIT $2`

// FindByRef returns the records with ref in any batch, newest first, at
// most limit, personal data opened (the caller masks it).
func (s *Store) FindByRef(ctx context.Context, ref string, limit int) ([]*pipeline.Record, error) {
	return s.find(ctx, findByRefSQL, ref, limit)
}

// FindByIDNumber returns the records whose normalised id number is
// idNumber (identity.NormalizeIDNumber), in any batch, newest first, at
// most limit, through the blind index: the number itself is never sent to
// the database.
func (s *Store) FindByIDNumber(ctx context.Context, idNumber string, limit int) ([]*pipeline.Record, error) {
	if s.keys == nil {
		return nil, fmt.Errorf("store: find by id number needs the index key (IVSBATCH_PII_INDEX_KEY)")
	}
	return s.find(ctx, findByIDNumberSQL, s.keys.IndexAll(idNumber), limit) // under either key during a rotation
}

func (s *Store) find(ctx context.Context, sql string, key any, limit int) ([]*pipeline.Record, error) {
	rows, err := s.pool.Query(ctx, sql, key, limit)
	if err != nil {
		return nil, fmt.Errorf("store: find records: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) { return s.scanRecord(row) })
	if err != nil {
		return nil, fmt.Errorf("store: find records: %w", err)
	}
	return recs, nil
}
