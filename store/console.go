package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// The query the operator console reads besides status, report, the list of
// batches (ListBatches), the review queue (ListReview) and a ref's records
// (FindByRef): a batch's records in some statuses, with one error code (its
// failures by reason).

// RecordFilter selects some records of one batch for a page.
type RecordFilter struct {
	BatchID  int64
	Statuses []pipeline.Status // required
	Code     string            // last_error_code; "" any
	AfterID  int64             // keyset paging
	Limit    int
}

// batchRecordsSQL reads batch $1's records in statuses $2 with code $3
// ("" any) after id $4: records_batch_status (batch_id, status) serves it.
const batchRecordsSQL = `SELECT ` + recordColumns + ` FROM records
	WHERE batch_id = $1 AND status = ANY ($2) AND ($3 = '' OR last_error_code = $3) AND id > $4
	ORDER BY id LIMIT $5`

// BatchRecords returns a page of f's records in id order, without metadata.
func (s *Store) BatchRecords(ctx context.Context, f RecordFilter) ([]*pipeline.Record, error) {
	if len(f.Statuses) == 0 {
		return nil, errors.New("store: batch records: no status")
	}
	rows, err := s.pool.Query(ctx, batchRecordsSQL, f.BatchID, pipeline.StatusStrings(f.Statuses), f.Code, f.AfterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: records of batch %d: %w", f.BatchID, err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) { return s.scanRecord(row) })
	if err != nil {
		return nil, fmt.Errorf("store: records of batch %d: %w", f.BatchID, err)
	}
	return recs, nil
}

// ExplainConsole runs EXPLAIN ANALYZE of the console's record queries on
// batchID (its failures with code, its failures of any code), of the review
// queue and of ref looked up across batches, for tests and for checking
// plans on a real database.
func (s *Store) ExplainConsole(ctx context.Context, batchID int64, code, ref string) ([]ExplainedQuery, error) {
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"failures with a code", batchRecordsSQL, []any{batchID, pipeline.StatusStrings([]pipeline.Status{pipeline.StatusFailed, pipeline.StatusRejected}), code, 0, 51}},
		{"failures, any code", batchRecordsSQL, []any{batchID, pipeline.StatusStrings([]pipeline.Status{pipeline.StatusFailed, pipeline.StatusRejected}), "", 0, 51}},
		{"review cases (ListReview)", listReviewSQL, []any{0, 0, 51}},
		{"ref across batches (FindByRef)", findByRefSQL, []any{ref, 50}},
		{"batches (ListBatches)", listBatchesSQL, []any{openStatuses, heldStrings(), "", nil, "", 51, int64(0)}},
	}
	var out []ExplainedQuery
	for _, q := range queries {
		rows, err := s.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		out = append(out, ExplainedQuery{Name: q.name, Plan: strings.Join(lines, "\n")})
	}
	return out, nil
}
