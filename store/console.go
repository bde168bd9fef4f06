package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// The queries the operator console reads besides status, report and the
// list of batches (ListBatches): a batch's records in some statuses (its
// failures by reason, its review cases), a record looked up by ref across
// batches, and an interim review decision (issue 25 brings the decisions
// table; until then a decision is its audit row and a status change).

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

// recordsByRefSQL finds ref $1 in every batch, newest first, by probing the
// (batch_id, ref) unique index once per batch: no index on ref alone is
// needed, and the cost follows the number of batches, not of records.
const recordsByRefSQL = `SELECT ` + recordColumns + ` FROM records WHERE id IN (
	SELECT r.id FROM batches b CROSS JOIN LATERAL (SELECT id FROM records WHERE batch_id = b.id AND ref = $1) r)
	ORDER BY id DESC LIMIT $2`

// RecordsByRef returns at most n records whose ref is ref, in any batch,
// newest first, without metadata.
func (s *Store) RecordsByRef(ctx context.Context, ref string, n int) ([]*pipeline.Record, error) {
	rows, err := s.pool.Query(ctx, recordsByRefSQL, ref, n)
	if err != nil {
		return nil, fmt.Errorf("store: find ref: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) { return s.scanRecord(row) })
	if err != nil {
		return nil, fmt.Errorf("store: find ref: %w", err)
	}
	return recs, nil
}

// ReviewDecision is what a reviewer decided about a record in review.
type ReviewDecision string

// The decisions. Approve keeps IVS's verdict (status done); reject ends the
// record failed with code review.rejected; re-verify is a forced requeue
// (a new paid call: ops.Requeue with the record's id).
const (
	DecisionApprove  ReviewDecision = "approve"
	DecisionReject   ReviewDecision = "reject"
	DecisionReverify ReviewDecision = "reverify"
)

// CodeReviewRejected is the last_error_code of a record a reviewer rejected.
const CodeReviewRejected = "review.rejected"

// ErrNotInReview refuses a decision about a record that is not in review
// (decided already, or never there).
var ErrNotInReview = errors.New("the record is not in review")

// ErrNoVerdict refuses approving a review case that has no verdict to keep
// (a name set aside before any call): reject or re-verify it.
var ErrNoVerdict = errors.New("the record has no verdict to approve: reject or re-verify it")

// DecideReview applies an approve or reject decision to record id, which must
// be in review, and writes a's audit row (with the decision, the reason and
// the record's previous code) in the same transaction.
func (s *Store) DecideReview(ctx context.Context, id int64, d ReviewDecision, reason string, a AuditEntry) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("store: a review decision needs a reason")
	}
	var set string
	switch d {
	case DecisionApprove:
		set = `status = ` + sqlText(pipeline.StatusDone)
	case DecisionReject:
		set = `status = ` + sqlText(pipeline.StatusFailed) + `, last_error_code = '` + CodeReviewRejected + `',
			last_error_message = 'rejected by a reviewer'`
	default:
		return fmt.Errorf("store: review decision %q: want approve or reject", d)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			status string
			code   *int
		)
		err := tx.QueryRow(ctx, `SELECT status, verification_code FROM records WHERE id = $1 FOR UPDATE`, id).Scan(&status, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store: record %d: %w", id, pipeline.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: decide record %d: %w", id, err)
		}
		if pipeline.Status(status) != pipeline.StatusReview {
			return fmt.Errorf("store: decide record %d: %w", id, ErrNotInReview)
		}
		if d == DecisionApprove && code == nil {
			return fmt.Errorf("store: decide record %d: %w", id, ErrNoVerdict)
		}
		if _, err := tx.Exec(ctx, `UPDATE records SET `+set+`, updated_at = $2 WHERE id = $1`, id, time.Now()); err != nil {
			return fmt.Errorf("store: decide record %d: %w", id, err)
		}
		a.Reason = reason
		a.Args = map[string]any{"record": id, "decision": string(d)}
		return AuditTx(ctx, tx, a)
	})
}

// ExplainConsole runs EXPLAIN ANALYZE of the console's record queries on
// batchID (its failures with code, its review cases, ref looked up across
// batches), for tests and for checking plans on a real database.
func (s *Store) ExplainConsole(ctx context.Context, batchID int64, code, ref string) ([]ExplainedQuery, error) {
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"failures with a code", batchRecordsSQL, []any{batchID, pipeline.StatusStrings([]pipeline.Status{pipeline.StatusFailed, pipeline.StatusRejected}), code, 0, 51}},
		{"review cases", batchRecordsSQL, []any{batchID, pipeline.StatusStrings([]pipeline.Status{pipeline.StatusReview}), "", 0, 51}},
		{"ref across batches", recordsByRefSQL, []any{ref, 50}},
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
