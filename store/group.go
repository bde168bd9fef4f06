package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit for the per-task writes. Those that must be durable before a
// worker goes on, an attempt going in flight (Send, before the call) and an
// outcome (Finish, before the task is acknowledged), wait for a WAL flush;
// those before a call (claim, dedup, reserve) commit asynchronously (see
// oneTrip). One at a time they cost a transaction and a round trip each
// (and a flush), and at a thousand records a second those, not the rows,
// are most of what Postgres and the worker do.
//
// Writes queue here and a few committers take whatever has queued while they
// were busy and run it as one transaction, in one round trip (BEGIN, every
// write's statements, COMMIT): under load the writes of tens of tasks share
// a commit; alone, a write goes at once. Each write keeps its own statements
// and results, so its meaning is what it would be alone. If the shared
// transaction fails (a deadlock between two groups, say), it rolled back as
// a whole and every write of it runs again in its own transaction, whose
// result is the one its caller gets.

const (
	// groupCommitters run groups at once: while they are all busy, writes
	// queue and go in the next groups.
	groupCommitters = 2
	// maxGroup bounds a group's size (and its transaction's locks).
	maxGroup = 64
	// groupTimeout bounds a group's transaction, whatever the callers'
	// contexts (a write that has been taken is seen through).
	groupTimeout = 30 * time.Second
)

// errStoreClosed is returned for writes queued after Close.
var errStoreClosed = errors.New("store: closed")

// groupWrite is one task's write.
type groupWrite struct {
	// queue adds the write's statements; their callbacks record its results
	// and never return an error (which would stop reading the group's
	// results after the server had run its COMMIT): a write's own failure
	// to read a row is one of its results.
	queue func(b *pgx.Batch)
	// last puts the write's statements after the others of its group: it
	// locks a row that every task's write locks (the batch's budget), held
	// until the group commits, so the others' statements must not run
	// while it is held.
	last bool
	// claim is a claim's record and result, for the claims' committers,
	// which run a group's claims as one statement (claimQueuedManySQL).
	claim *claimWrite
	// reset clears those results before the write runs again alone.
	reset func()
	done  chan error // buffered: the committer never waits for the caller
	state atomic.Int32
}

const (
	writeWaiting int32 = iota
	writeTaken         // a committer runs it: the caller waits for its result
	writeDropped       // the caller gave up before a committer took it
)

// groupCommitter owns a queue and its committers.
type groupCommitter struct {
	// exec runs a group as one transaction (a group of one included).
	exec func(ctx context.Context, group []*groupWrite) error
	in   chan *groupWrite
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// newGroupCommitter starts the committers of the writes' own statements
// (groupWrite.queue), committed synchronously or not (see oneTrip).
func newGroupCommitter(s *Store, async bool) *groupCommitter {
	return startCommitters(func(ctx context.Context, group []*groupWrite) error {
		return s.oneTrip(ctx, async, func(b *pgx.Batch) {
			for _, last := range []bool{false, true} {
				for _, w := range group {
					if w.last == last {
						w.queue(b)
					}
				}
			}
		})
	})
}

func startCommitters(exec func(ctx context.Context, group []*groupWrite) error) *groupCommitter {
	g := &groupCommitter{exec: exec, in: make(chan *groupWrite, 4*maxGroup), stop: make(chan struct{})}
	for range groupCommitters {
		g.wg.Add(1)
		go g.run()
	}
	return g
}

// close stops the committers after the groups they are running; writes not
// yet taken fail with errStoreClosed.
func (g *groupCommitter) close() {
	g.once.Do(func() { close(g.stop) })
	g.wg.Wait()
}

// write runs w in a group and returns its result. A write whose context
// ends before a committer takes it does not run; once taken, its result is
// waited for (at most groupTimeout), so the caller never leaves a write
// behind that may still commit.
func (g *groupCommitter) write(ctx context.Context, w *groupWrite) error {
	w.done = make(chan error, 1)
	select {
	case g.in <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return errStoreClosed
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		if w.state.CompareAndSwap(writeWaiting, writeDropped) {
			return ctx.Err()
		}
	case <-g.stop:
		if w.state.CompareAndSwap(writeWaiting, writeDropped) {
			return errStoreClosed
		}
	}
	return <-w.done
}

func (g *groupCommitter) run() {
	defer g.wg.Done()
	for {
		var group []*groupWrite
		select {
		case <-g.stop:
			return
		case w := <-g.in:
			group = g.take(group, w)
		}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-g.in:
				group = g.take(group, w)
			default:
				break more
			}
		}
		if len(group) > 0 {
			g.commit(group)
		}
	}
}

// take adds w to group unless its caller has given up.
func (g *groupCommitter) take(group []*groupWrite, w *groupWrite) []*groupWrite {
	if w.state.CompareAndSwap(writeWaiting, writeTaken) {
		return append(group, w)
	}
	return group
}

// commit runs group as one transaction. If Postgres refused it (a
// deadlock between two groups, say), the transaction rolled back as a
// whole and each write runs again alone. Any other error (the connection
// lost) leaves the outcome unknown, as for a write alone: every caller
// gets it.
func (g *groupCommitter) commit(group []*groupWrite) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	err := g.exec(ctx, group)
	var pgErr *pgconn.PgError
	if err == nil || len(group) == 1 || !errors.As(err, &pgErr) {
		for _, w := range group {
			w.done <- err
		}
		return
	}
	for _, w := range group {
		w.reset()
		w.done <- g.exec(ctx, []*groupWrite{w})
	}
}
