// Package groupcommit runs the writes of concurrent callers together, each
// group of them as one transaction: a few committers take whatever writes
// have queued while they were busy and hand them to the caller's exec
// function at once. Under load the writes of tens of callers share a
// commit (and its round trip and WAL flush); alone, a write goes at once.
// Each write keeps its own results, so its meaning is what it would be
// alone. If a group's transaction is refused as a whole (a deadlock between
// two groups, say), every write of it runs again in a group of its own,
// whose result is the one its caller gets.
//
// The package knows nothing of SQL: what a write is and how a group runs
// belong to the caller (the store), which gives each kind of write its own
// type.
package groupcommit

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Write is one caller's write: a value holding what to write and, once its
// group ran, its results.
type Write interface {
	// Reset clears the write's results before it runs again alone.
	Reset()
}

// Config tunes a Committer. Zero values take the defaults.
type Config struct {
	// Committers run groups at once (default 2): while they are all busy,
	// writes queue and go in the next groups.
	Committers int
	// MaxGroup bounds a group's size, and so its transaction's locks
	// (default 64).
	MaxGroup int
	// Timeout bounds a group's run, whatever the callers' contexts: a
	// write that has been taken is seen through (default 30 s).
	Timeout time.Duration
	// RetryAlone reports whether a group's error means that its
	// transaction was refused as a whole, so each write runs again alone.
	// Any other error (the connection lost) leaves the outcome unknown, as
	// for a write alone: every caller gets it. Nil: never.
	RetryAlone func(error) bool
}

// ErrClosed is returned for writes queued after Close.
var ErrClosed = errors.New("groupcommit: closed")

// entry is a queued write and the state of its caller.
type entry[W Write] struct {
	w     W
	done  chan error // buffered: a committer never waits for the caller
	state atomic.Int32
}

const (
	waiting int32 = iota
	taken         // a committer runs it: the caller waits for its result
	dropped       // the caller gave up before a committer took it
)

// Committer runs writes of type W in groups.
type Committer[W Write] struct {
	exec func(ctx context.Context, group []W) error
	cfg  Config
	in   chan *entry[W]
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// Start starts the committers; exec runs a group (a group of one included)
// as one transaction. Its writes record their own results; exec's error is
// the whole group's.
func Start[W Write](exec func(ctx context.Context, group []W) error, cfg Config) *Committer[W] {
	cfg.Committers = cmp.Or(cfg.Committers, 2)
	cfg.MaxGroup = cmp.Or(cfg.MaxGroup, 64)
	cfg.Timeout = cmp.Or(cfg.Timeout, 30*time.Second)
	if cfg.RetryAlone == nil {
		cfg.RetryAlone = func(error) bool { return false }
	}
	c := &Committer[W]{exec: exec, cfg: cfg, in: make(chan *entry[W], 4*cfg.MaxGroup), stop: make(chan struct{})}
	for range cfg.Committers {
		c.wg.Add(1)
		go c.run()
	}
	return c
}

// Close stops the committers after the groups they are running; writes not
// yet taken fail with ErrClosed.
func (c *Committer[W]) Close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

// Write runs w in a group and returns its result. A write whose context
// ends before a committer takes it does not run; once taken, its result is
// waited for (at most Config.Timeout), so the caller never leaves a write
// behind that may still commit.
func (c *Committer[W]) Write(ctx context.Context, w W) error {
	e := &entry[W]{w: w, done: make(chan error, 1)}
	select {
	case c.in <- e:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return ErrClosed
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		if e.state.CompareAndSwap(waiting, dropped) {
			return ctx.Err()
		}
	case <-c.stop:
		if e.state.CompareAndSwap(waiting, dropped) {
			return ErrClosed
		}
	}
	return <-e.done
}

func (c *Committer[W]) run() {
	defer c.wg.Done()
	for {
		var group []*entry[W]
		select {
		case <-c.stop:
			return
		case e := <-c.in:
			group = take(group, e)
		}
	more:
		for len(group) < c.cfg.MaxGroup {
			select {
			case e := <-c.in:
				group = take(group, e)
			default:
				break more
			}
		}
		if len(group) > 0 {
			c.commit(group)
		}
	}
}

// take adds e to group unless its caller has given up.
func take[W Write](group []*entry[W], e *entry[W]) []*entry[W] {
	if e.state.CompareAndSwap(waiting, taken) {
		return append(group, e)
	}
	return group
}

// commit runs group as one transaction, and each write again alone if
// the transaction was refused as a whole (Config.RetryAlone).
func (c *Committer[W]) commit(group []*entry[W]) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	ws := make([]W, len(group))
	for i, e := range group {
		ws[i] = e.w
	}
	err := c.exec(ctx, ws)
	if err == nil || len(group) == 1 || !c.cfg.RetryAlone(err) {
		for _, e := range group {
			e.done <- err
		}
		return
	}
	for _, e := range group {
		e.w.Reset()
		e.done <- c.exec(ctx, []W{e.w})
	}
}
