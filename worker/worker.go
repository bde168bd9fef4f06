// Package worker runs the pipeline on asynq: the feeder that moves records
// from Postgres into the queue (taskqueue) a bounded window ahead of the
// quota and runs lost-task recovery (recovery), and the worker process
// (asynq servers, shared rate limiter, metrics, graceful shutdown).
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/recovery"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// Config sets up a worker process. Zero values take defaults.
type Config struct {
	// Concurrency is how many records of each endpoint are handled at once
	// (default DefaultConcurrency of a 10/s quota: enough to fill it when a
	// call takes seconds; concurrency ≈ quota × latency). Each endpoint has
	// its own queue and handlers, so a saturated endpoint never holds the
	// other one's.
	Concurrency int
	// TaskTimeout bounds one task (default pipeline.DefaultTaskTimeout, the
	// worst case of media, limiter wait, call, resend and outcome write).
	TaskTimeout time.Duration
	// ShutdownTimeout is how long in-flight records get to finish on SIGTERM
	// (default 45 s, longer than the IVS timeout); unfinished tasks go back
	// to the queue.
	ShutdownTimeout time.Duration
	// Window is how many tasks the feeder keeps waiting in each queue, ahead
	// of those the handlers run (default DefaultWindow(Concurrency)).
	Window int
	// Queues are the queues this process serves and feeds (default taskqueue.Queues:
	// both endpoints). A process for one endpoint only lets hosts be sized
	// per endpoint, or a batch's text-only records go first.
	Queues []string
	// Feed runs the feeder in this process (default true via NewConfig; every
	// process may run one: claiming uses SKIP LOCKED).
	Feed bool
	Log  *slog.Logger
	// Metrics, when set, count lost-task recovery, Redis losing its data and
	// records sent back by infrastructure trouble.
	Metrics *Metrics
}

// Store is what the worker's feeder needs from Postgres: feeding the queue
// and lost-task recovery.
type Store interface {
	pipeline.FeedStore
	recovery.LostStore
}

// DefaultShutdownTimeout is Config.ShutdownTimeout's default (internal/workermain's
// DefaultConfig starts from it too); sizing.go has the other defaults.
const DefaultShutdownTimeout = 45 * time.Second

// Worker is one worker process: an asynq server per endpoint queue running
// the processor, and a feeder.
type Worker struct {
	cfg       Config
	rdb       redis.UniversalClient
	proc      *pipeline.Processor
	servers   []*asynq.Server
	feeder    *Feeder
	enqueuer  *taskqueue.Enqueuer
	inspector *asynq.Inspector
	client    *asynq.Client
}

// New wires a worker. proc's PauseQueue is set to pause the asynq queue.
// The caller owns rdb (shared by asynq and the rate limiter).
func New(cfg Config, rdb redis.UniversalClient, proc *pipeline.Processor, feed Store) *Worker {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency(10)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow(cfg.Concurrency)
	}
	if cfg.TaskTimeout == 0 {
		cfg.TaskTimeout = DefaultTaskTimeout
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = taskqueue.Queues
	}
	w := &Worker{cfg: cfg, rdb: rdb, proc: proc}
	w.inspector = asynq.NewInspectorFromRedisClient(rdb)
	w.client = asynq.NewClientFromRedisClient(rdb)
	w.enqueuer = &taskqueue.Enqueuer{Client: w.client, Inspector: w.inspector, Redis: rdb, TaskTimeout: cfg.TaskTimeout}
	w.feeder = &Feeder{Store: feed, Enqueuer: w.enqueuer, Window: cfg.Window, Queues: cfg.Queues, Log: cfg.Log,
		Recoverer: &recovery.Recoverer{Store: feed, Enqueuer: w.enqueuer, Log: cfg.Log, InWorker: true}}
	if m := cfg.Metrics; m != nil {
		w.feeder.Lost = m.RedisLost.Inc
		w.feeder.Recoverer.Observe = m.ObserveRecovery
	}
	proc.PauseQueue = func(context.Context) error { return w.PauseQueue() }
	for _, q := range cfg.Queues {
		w.servers = append(w.servers, asynq.NewServerFromRedisClient(rdb, asynq.Config{
			Concurrency:     cfg.Concurrency,
			Queues:          map[string]int{q: 1},
			ShutdownTimeout: cfg.ShutdownTimeout,
			// When a queue is empty, asynq looks again after this long
			// (its default, 1 s, left the handlers idle for most of each
			// feeder round at high rates); one cheap Redis script per look.
			TaskCheckInterval: 50 * time.Millisecond,
			RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
				if r, ok := pipeline.AsRetryLater(err); ok {
					return r.Delay
				}
				return proc.Policy.Backoff(n + 1)
			},
			// Throttling and pauses are not failures: asynq does not count
			// them against MaxRetry.
			IsFailure: func(err error) bool {
				r, ok := pipeline.AsRetryLater(err)
				return !ok || r.Failure
			},
			Logger:   asynqLogger{cfg.Log},
			LogLevel: asynq.WarnLevel,
		}))
	}
	return w
}

// Handler is the asynq handler of queue's tasks: it decodes the task, runs
// the processor, and counts infrastructure failures (Metrics.ObserveTask).
func (w *Worker) Handler(queue string) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		ref, err := taskqueue.ParseTask(t)
		if err != nil {
			w.cfg.Log.Error("dropping malformed task", "err", err)
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		err = w.proc.Process(ctx, ref)
		if w.cfg.Metrics != nil {
			w.cfg.Metrics.ObserveTask(queue, err)
		}
		return err
	})
}

// Run serves tasks (and feeds, when configured) until ctx ends, then shuts
// down gracefully: no new tasks; in-flight ones get ShutdownTimeout, then
// go back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	// A SIGTERM during start-up cancels this read: that is a clean stop,
	// not a failure.
	if err := w.syncPause(ctx, true); err != nil && ctx.Err() == nil {
		return err
	}
	for i, srv := range w.servers {
		if err := srv.Start(w.Handler(w.cfg.Queues[i])); err != nil {
			for _, started := range w.servers[:i] {
				started.Shutdown()
			}
			return fmt.Errorf("worker: start asynq server for %s: %w", w.cfg.Queues[i], err)
		}
	}
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		if w.cfg.Feed {
			_ = w.feeder.Run(ctx)
		}
	}()
	// The pause lives in Postgres; the queue's pause flag in Redis is lost
	// with Redis's data, so it is put back regularly.
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.syncPause(ctx, false); err != nil && ctx.Err() == nil {
					w.cfg.Log.Warn("re-apply account pause", "err", err)
				}
			}
		}
	}()
	<-ctx.Done()
	w.cfg.Log.Info("worker stopping: finishing in-flight records", "timeout", w.cfg.ShutdownTimeout)
	var wg sync.WaitGroup
	for _, srv := range w.servers {
		wg.Add(1)
		go func() { defer wg.Done(); srv.Shutdown() }()
	}
	wg.Wait()
	<-feedDone
	_ = w.client.Close()
	return nil
}

// syncPause pauses the queue if Postgres says the account is paused (the
// stop survives restarts and Redis losing its data).
func (w *Worker) syncPause(ctx context.Context, announce bool) error {
	code, _, paused, err := w.proc.Account.Paused(ctx)
	if err != nil {
		return err
	}
	if paused {
		if announce {
			w.cfg.Log.Warn("account is paused; not taking tasks until resumed", "code", code)
		}
		return w.PauseQueue()
	}
	return nil
}

// PauseQueue pauses the asynq queue in every process. Pausing a paused
// queue is not an error.
func (w *Worker) PauseQueue() error { return pauseQueues(w.inspector) }

func pauseQueues(insp *asynq.Inspector) error {
	for _, q := range taskqueue.Queues {
		if err := setQueuePaused(insp, q, true); err != nil {
			return fmt.Errorf("worker: pause queue %s: %w", q, err)
		}
	}
	return nil
}

// Resume lifts the account-wide pause (see the package function Resume).
func (w *Worker) Resume(ctx context.Context) error { return Resume(ctx, w.proc.Account, w.rdb) }

// Resume lifts an account-wide pause: Postgres first, then the queue.
func Resume(ctx context.Context, acct pipeline.AccountState, rdb redis.UniversalClient) error {
	if err := acct.ClearPaused(ctx); err != nil {
		return err
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	for _, q := range taskqueue.Queues {
		if err := setQueuePaused(insp, q, false); err != nil {
			return fmt.Errorf("worker: unpause queue %s: %w", q, err)
		}
	}
	return nil
}

// Pause stores an operator's pause and pauses the queue.
func Pause(ctx context.Context, acct pipeline.AccountState, rdb redis.UniversalClient, reason string) error {
	if err := acct.SetPaused(ctx, "operator", reason); err != nil {
		return err
	}
	return pauseQueues(asynq.NewInspectorFromRedisClient(rdb))
}

// setQueuePaused pauses or unpauses queue q; a queue already in that state
// is not an error. asynq reports that case as an error without a sentinel,
// so instead of reading its message this asks for the state: the queue's
// Paused flag, or, for a queue asynq does not list (nothing enqueued since
// Redis started), nothing to check — Redis answered, so the error was the
// state. (The pause is re-applied from Postgres every few seconds anyway.)
func setQueuePaused(insp *asynq.Inspector, q string, paused bool) error {
	var err error
	if paused {
		err = insp.PauseQueue(q)
	} else {
		err = insp.UnpauseQueue(q)
	}
	if err == nil {
		return nil
	}
	queues, qerr := insp.Queues()
	if qerr != nil {
		return err
	}
	if !slices.Contains(queues, q) {
		return nil
	}
	if info, ierr := insp.GetQueueInfo(q); ierr == nil && info.Paused == paused {
		return nil
	}
	return err
}
