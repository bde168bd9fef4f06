package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
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
		{"claim " + string(pipeline.EndpointExtention), claimPendingSQL[pipeline.EndpointExtention], []any{100}, false},
		{"claim " + string(pipeline.EndpointStandard), claimPendingSQL[pipeline.EndpointStandard], []any{100}, false},
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

// ExplainPurge runs EXPLAIN ANALYZE of a purge's first chunk of n records
// for every kind (the chunk's read, each kind's UPDATE or DELETE) and of the
// overdue metric's look-up, with every kind's retention at 30 days, in one
// transaction that is rolled back. For benchmarks.
func (s *Store) ExplainPurge(ctx context.Context, n int) ([]ExplainedQuery, error) {
	var out []ExplainedQuery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cutoff time.Time
		if err := tx.QueryRow(ctx, `SELECT now() - interval '30 days'`).Scan(&cutoff); err != nil {
			return err
		}
		zero := time.Time{}
		rows, err := tx.Query(ctx, purgeCandidatesSQL, zero, 0, cutoff, n)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
			var id int64
			err := r.Scan(&id, new(time.Time), new(string))
			return id, err
		})
		if err != nil {
			return err
		}
		queries := []struct {
			name string
			sql  string
			args []any
		}{
			{"purge: a chunk's candidates", purgeCandidatesSQL, []any{zero, 0, cutoff, n}},
			{"metrics: oldest past retention", purgeCandidatesSQL, []any{zero, 0, cutoff, 1}},
		}
		for _, k := range retention.Kinds {
			args, sql := []any{ids, cutoff}, purgeSQL[k]
			switch k {
			case retention.Verdicts:
				sql = deleteVerdictsSQL // the function's statements
			case retention.Pictures:
				args = append(args, []string{})
			case retention.Inputs:
				args = append(args, time.Now())
			}
			queries = append(queries, struct {
				name string
				sql  string
				args []any
			}{"purge " + string(k), sql, args})
		}
		for _, q := range queries {
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) "+q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("explain %s: %w", q.name, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("explain %s: %w", q.name, err)
			}
			out = append(out, ExplainedQuery{Name: q.name, Plan: strings.Join(lines, "\n")})
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return nil, fmt.Errorf("store: explain purge: %w", err)
	}
	return out, nil
}
