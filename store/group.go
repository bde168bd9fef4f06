package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/store/internal/groupcommit"
)

// Group commit for the per-task writes (internal/groupcommit). Those that
// must be durable before a worker goes on, an attempt going in flight
// (sendWrite, before the call) and an outcome (finishWrite, before the task
// is acknowledged), wait for a WAL flush; those before a call (claimWrite,
// dedupWrite, reserveWrite) commit asynchronously (see oneTrip). One at a
// time they cost a transaction and a round trip each (and a flush), and at a
// thousand records a second those, not the rows, are most of what Postgres
// and the worker do. Each kind of write is a type of its own, with its
// statements and its results.

// stmtWrite is a write that brings its own statements: any of them can
// share a group (a transaction) with any other.
type stmtWrite interface {
	groupcommit.Write
	// queue adds the write's statements to b. Their callbacks record the
	// write's results and never return an error (which would stop the
	// reading of the group's results after the server had run its COMMIT):
	// a write's own failure to read a row is one of its results.
	queue(b *pgx.Batch)
}

// committers are the store's group commits.
type committers struct {
	durable    *groupcommit.Committer[stmtWrite]   // Send, Finish: committed synchronously
	beforeCall *groupcommit.Committer[stmtWrite]   // Reserve, Dedup: committed asynchronously
	claims     *groupcommit.Committer[*claimWrite] // Claim's common case, one statement per group
}

// startCommitters starts the store's group commits.
func (s *Store) startCommitters() committers {
	cfg := groupcommit.Config{RetryAlone: refusedWhole}
	return committers{
		durable:    groupcommit.Start(s.execStatements(false), cfg),
		beforeCall: groupcommit.Start(s.execStatements(true), cfg),
		claims:     groupcommit.Start(s.claimQueued, cfg),
	}
}

func (c committers) close() {
	c.durable.Close()
	c.beforeCall.Close()
	c.claims.Close()
}

// refusedWhole reports whether Postgres refused a group's transaction (a
// deadlock between two groups, say): it rolled back as a whole, and each
// write can run again alone. Any other error (the connection lost) leaves
// the outcome unknown.
func refusedWhole(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

// execStatements runs a group of stmtWrites as one transaction, committed
// synchronously or not (see oneTrip). Reservations go last: each locks its
// batch's budget row, which every task's reservation locks, held until the
// group commits, so the other writes' statements must not run while it is
// held.
func (s *Store) execStatements(async bool) func(ctx context.Context, group []stmtWrite) error {
	return func(ctx context.Context, group []stmtWrite) error {
		return s.oneTrip(ctx, async, func(b *pgx.Batch) {
			for _, last := range []bool{false, true} {
				for _, w := range group {
					if _, reserve := w.(*reserveWrite); reserve == last {
						w.queue(b)
					}
				}
			}
		})
	}
}
