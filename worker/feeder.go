package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Feeder moves pending records from Postgres into the queue, keeping at most
// Window tasks there (backpressure: a million-row batch never means a
// million tasks in Redis), and re-enqueues records Postgres says are queued
// but the queue lost (Redis flushed or restarted without its data).
type Feeder struct {
	Store    pipeline.FeedStore
	Enqueuer *Enqueuer
	Window   int           // tasks to keep in each endpoint's queue (default 200)
	Interval time.Duration // between rounds (default 500 ms)
	// RecoverAfter: a queued or in-flight record unchanged for this long is
	// checked against the queue (default 2 × the task timeout).
	RecoverAfter time.Duration
	Log          *slog.Logger
}

func (f *Feeder) defaults() {
	if f.Window == 0 {
		f.Window = 200
	}
	if f.Interval == 0 {
		f.Interval = 500 * time.Millisecond
	}
	if f.RecoverAfter == 0 {
		f.RecoverAfter = 2 * DefaultTaskTimeout
	}
	if f.Log == nil {
		f.Log = slog.Default()
	}
}

// Run feeds until ctx ends, and recovers lost tasks every RecoverAfter/4.
func (f *Feeder) Run(ctx context.Context) error {
	f.defaults()
	tick := time.NewTicker(f.Interval)
	defer tick.Stop()
	lastRecover := time.Now()
	for {
		if _, err := f.FeedOnce(ctx); err != nil && ctx.Err() == nil {
			f.Log.Warn("feeder round failed", "err", err)
		}
		if time.Since(lastRecover) > f.RecoverAfter/4 {
			if _, err := f.Recover(ctx, time.Now().Add(-f.RecoverAfter)); err != nil && ctx.Err() == nil {
				f.Log.Warn("feeder recovery failed", "err", err)
			}
			lastRecover = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// FeedOnce tops each endpoint's queue up to Window and returns how many
// tasks it enqueued. Records it claimed but could not enqueue stay queued in
// Postgres and are picked up by Recover.
func (f *Feeder) FeedOnce(ctx context.Context) (int, error) {
	f.defaults()
	n := 0
	for i, ep := range Endpoints {
		size, err := f.Enqueuer.QueueSize(Queues[i])
		if err != nil {
			return n, err
		}
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

// Recover enqueues every queued or in-flight record unchanged since
// olderThan whose task the queue does not hold. It returns how many tasks it
// added. Enqueuing is idempotent (task ids), so it is safe while workers run.
func (f *Feeder) Recover(ctx context.Context, olderThan time.Time) (int, error) {
	f.defaults()
	var after int64
	added := 0
	for {
		refs, err := f.Store.ListQueued(ctx, after, olderThan, 500)
		if err != nil {
			return added, err
		}
		for _, ref := range refs {
			ok, err := f.Enqueuer.Enqueue(ctx, ref)
			if err != nil {
				return added, fmt.Errorf("recover: %w", err)
			}
			if ok {
				added++
			}
			after = ref.RecordID
		}
		if len(refs) < 500 {
			break
		}
	}
	if added > 0 {
		f.Log.Info("re-enqueued records the queue had lost", "count", added)
	}
	return added, nil
}
