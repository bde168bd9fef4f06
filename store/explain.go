package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ExplainedQuery is one periodic query's EXPLAIN ANALYZE.
type ExplainedQuery struct {
	Name string
	Plan string // the plan as text
}

var errRollback = errors.New("rolled back")

// ExplainPeriodic runs EXPLAIN ANALYZE of the periodic and per-record
// queries on batchID (the feeder's claim per endpoint, lost-task recovery,
// the status queries, the metrics counts) in one transaction that is rolled
// back, so the claims change nothing. For benchmarks and for checking plans
// on a real database.
func (s *Store) ExplainPeriodic(ctx context.Context, batchID int64) ([]ExplainedQuery, error) {
	terminal := pipeline.StatusStrings(pipeline.TerminalStatuses)
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"claim " + string(ivs.EndpointExtention), claimPendingSQL[ivs.EndpointExtention], []any{100}},
		{"claim " + string(ivs.EndpointStandard), claimPendingSQL[ivs.EndpointStandard], []any{100}},
		{"status: counts", batchCountsSQL, []any{batchID}},
		{"status: verdicts and errors", batchVerdictsSQL, []any{batchID, terminal}},
		{"status: rate and ETA (the batch's latest attempts)", batchProgressSQL, []any{batchID, progressWindow.Seconds(), terminal}},
		{"metrics: records by status", statusCountsSQL, nil},
		{"open batches", openBatchesSQL, []any{pipeline.StatusStrings(pipeline.OpenStatuses)}},
	}
	var out []ExplainedQuery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range queries {
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			out = append(out, ExplainedQuery{Name: q.name, Plan: strings.Join(lines, "\n")})
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return nil, fmt.Errorf("store: explain: %w", err)
	}
	return out, nil
}
