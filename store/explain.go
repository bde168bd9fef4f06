package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
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
	queries := []struct {
		name   string
		sql    string
		args   []any
		status bool // read by GetBatchStatus, under its planner settings
	}{
		{"claim " + string(ivs.EndpointExtention), claimPendingSQL[ivs.EndpointExtention], []any{100}, false},
		{"claim " + string(ivs.EndpointStandard), claimPendingSQL[ivs.EndpointStandard], []any{100}, false},
		{"status: counts", batchCountsSQL, []any{batchID}, true},
		{"status: verdicts and errors", batchVerdictsSQL, []any{batchID, terminal}, true},
		{"status: rate and ETA (the batch's latest attempts)", batchProgressSQL, []any{batchID, progressWindow.Seconds(), terminal}, true},
		{"metrics: records by status", statusCountsSQL, nil, false},
		{"open batches", openBatchesSQL, []any{openStatuses}, false},
	}
	var out []ExplainedQuery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range queries {
			settings := []string{"RESET enable_bitmapscan", "RESET enable_seqscan"}
			if q.status {
				settings = statusPlannerSettings
			}
			for _, set := range settings {
				if _, err := tx.Exec(ctx, set); err != nil {
					return err
				}
			}
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
