package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/recovery"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// Feeder moves pending records from Postgres into the queue, keeping at most
// Window tasks there (backpressure: a million-row batch never means a
// million tasks in Redis), and runs lost-task recovery (Recoverer) every few
// seconds: records whose worker died, and records Postgres says are queued
// but the queue lost (Redis flushed or restarted without its data), go back
// to the queue within a minute, with no operator.
type Feeder struct {
	Store     pipeline.FeedStore
	Enqueuer  *taskqueue.Enqueuer
	Recoverer *recovery.Recoverer // nil: no recovery
	Window    int                 // tasks to keep waiting in each endpoint's queue, beside those running (default 200)
	Queues    []string            // the queues to feed (default taskqueue.Queues)
	Interval  time.Duration       // between rounds while the queues keep up (default 500 ms)
	// Refill is the pause before the next round when a round enqueued half
	// a window or more (default Interval/20): handlers are draining the
	// queues faster than Interval refills them, so the feeder keeps up with
	// them instead of letting them wait for the next tick.
	Refill time.Duration
	Log    *slog.Logger
	Lost   func() // called when Redis is found to have lost its data (metrics)
	marker markerState
}

func (f *Feeder) defaults() {
	if f.Window == 0 {
		f.Window = MinWindow
	}
	if len(f.Queues) == 0 {
		f.Queues = taskqueue.Queues
	}
	if f.Interval == 0 {
		f.Interval = 500 * time.Millisecond
	}
	if f.Refill == 0 {
		f.Refill = f.Interval / 20
	}
	if f.Log == nil {
		f.Log = slog.Default()
	}
}

// Run feeds until ctx ends; every few seconds it checks that Redis still has
// its data and runs a recovery round.
func (f *Feeder) Run(ctx context.Context) error {
	f.defaults()
	wait := time.NewTimer(0)
	defer wait.Stop()
	var lastRecover time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		}
		n, err := f.FeedOnce(ctx)
		if err != nil && ctx.Err() == nil {
			f.Log.Warn("feeder round failed", "err", err)
		}
		if f.Recoverer != nil && time.Since(lastRecover) >= recovery.LostAfter/5 {
			f.checkMarker(ctx)
			if _, err := f.Recoverer.Round(ctx); err != nil && ctx.Err() == nil {
				f.Log.Warn("lost-task recovery failed", "err", err)
			}
			f.settleBatches(ctx)
			lastRecover = time.Now()
		}
		next := f.Interval
		if err == nil && n >= f.Window/2 {
			next = f.Refill
		}
		wait.Reset(next)
	}
}

// batchSettler is a store that stores batches without open records as
// finished (store.SettleBatches).
type batchSettler interface {
	SettleBatches(ctx context.Context) (int, error)
}

// settleBatches stores the batches whose last records finished as
// finished, with the time (ops batches lists them so).
func (f *Feeder) settleBatches(ctx context.Context) {
	s, ok := f.Store.(batchSettler)
	if !ok {
		return
	}
	if n, err := s.SettleBatches(ctx); err != nil && ctx.Err() == nil {
		f.Log.Warn("settling finished batches failed", "err", err)
	} else if n > 0 {
		f.Log.Info("batches finished", "n", n)
	}
}

// FeedOnce tops each endpoint's queue up to Window and returns how many
// tasks it enqueued. Records it claimed but could not enqueue stay queued in
// Postgres and are picked up by Recover.
func (f *Feeder) FeedOnce(ctx context.Context) (int, error) {
	f.defaults()
	n := 0
	for _, q := range f.Queues {
		size, err := f.Enqueuer.QueueSize(q)
		if err != nil {
			return n, err
		}
		ep := taskqueue.EndpointOf(q)
		room := f.Window - size
		if room <= 0 {
			continue
		}
		refs, err := f.Store.ClaimPending(ctx, ep, room)
		if err != nil {
			return n, err
		}
		for _, ref := range refs {
			if _, err := f.Enqueuer.Enqueue(ctx, ref); err != nil {
				return n, fmt.Errorf("feed: %w", err)
			}
			n++
		}
	}
	return n, nil
}
