package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// querier is a pool, connection or transaction that reads one row.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// oneTrip runs the statements queue adds as one transaction sent in one
// round trip (BEGIN, the statements, COMMIT in a pgx batch). An error in
// any statement rolls the whole transaction back (the connection, left in
// a failed transaction, is then closed by the pool).
//
// async commits without waiting for the WAL flush. It is used only by the
// transactions before a call (claim, dedup, reserve), whose loss in a
// Postgres crash costs nothing: no call has gone out yet, and Send, the
// last write before a call, commits synchronously, which flushes the WAL up
// to and including theirs. The row locks they take (the batch's budget row
// above all, which every reservation updates) are then held for the
// statement instead of a disk flush, and reservations do not queue behind
// each other's flushes.
func (s *Store) oneTrip(ctx context.Context, async bool, queue func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if async {
		b.Queue("SET LOCAL synchronous_commit = off")
	}
	queue(b)
	b.Queue("COMMIT")
	return s.pool.SendBatch(ctx, b).Close()
}

// sqlStatuses renders statuses as a SQL list of literals ('a', 'b'). Queries
// that must match a partial index's predicate use it: the planner proves a
// predicate from literals, not from parameters of a generic plan.
func sqlStatuses(sts ...pipeline.Status) string {
	q := make([]string, len(sts))
	for i, st := range sts {
		q[i] = "'" + strings.ReplaceAll(string(st), "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// terminal is pipeline.TerminalStatuses as a text[] query argument.
var terminal = pipeline.StatusStrings(pipeline.TerminalStatuses)

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullIfZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}
