package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// dispatchBatch is how many events a dispatcher round moves at most.
const dispatchBatch = 100

// Server delivers events in a worker process: an asynq server on Queue
// running the Deliverer, and a dispatcher moving new events from the
// outbox onto the queue. Every worker runs one; the queue and the outbox's
// row locks share the work between them.
type Server struct {
	cfg    Config
	store  Store
	client *asynq.Client
	srv    *asynq.Server
	deliv  *Deliverer
	log    *slog.Logger
}

// NewServer returns a server on rdb (the caller owns it and closes it;
// the server's asynq client and server share it and close nothing).
func NewServer(rdb redis.UniversalClient, st Store, cfg Config, log *slog.Logger) *Server {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, store: st, client: asynq.NewClientFromRedisClient(rdb), log: log,
		deliv: NewDeliverer(st, cfg, log)}
	s.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{Queue: 1},
		ShutdownTimeout:          cfg.Timeout + 5*time.Second,
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           func(n int, _ error, _ *asynq.Task) time.Duration { return cfg.Backoff(n + 1) },
		Logger:                   asynqLogger{log},
		LogLevel:                 asynq.WarnLevel,
	})
	return s
}

// Deliverer is the server's task handler (tests adjust its clock).
func (s *Server) Deliverer() *Deliverer { return s.deliv }

// Run delivers until ctx ends, then lets deliveries in progress finish.
func (s *Server) Run(ctx context.Context) error {
	mux := asynq.NewServeMux()
	mux.Handle(TaskType, s.deliv)
	if err := s.srv.Start(mux); err != nil {
		return fmt.Errorf("webhook: start delivery server: %w", err)
	}
	defer s.srv.Shutdown()
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		if _, err := s.DispatchOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook dispatch round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// DispatchOnce moves the events waiting in the outbox onto the queue and
// returns how many it moved.
func (s *Server) DispatchOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.DispatchWebhookEvents(ctx, dispatchBatch, func(ev Event, eps []Endpoint) error {
			for _, ep := range eps {
				if err := Enqueue(ctx, s.client, s.cfg, ev.ID, ep.ID, false); err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil || n < dispatchBatch {
			return total, err
		}
	}
}

// asynqLogger adapts slog to asynq's logger.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) {
	a.l.Debug(fmt.Sprint(args...), "component", "asynq-webhooks")
}
func (a asynqLogger) Info(args ...any) { a.l.Info(fmt.Sprint(args...), "component", "asynq-webhooks") }
func (a asynqLogger) Warn(args ...any) { a.l.Warn(fmt.Sprint(args...), "component", "asynq-webhooks") }
func (a asynqLogger) Error(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq-webhooks")
}
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq-webhooks")
	os.Exit(1)
}
