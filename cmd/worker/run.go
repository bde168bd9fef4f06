package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/workermain"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

const runAbout = `Serves the queues until SIGINT/SIGTERM: fetches each record's media, checks
and prepares it, waits for the shared rate limit, calls IVS once and stores
the outcome. On SIGTERM in-flight records finish or go back to the queue.
Flags default to the environment: IVSBATCH_CONCURRENCY, IVSBATCH_QUOTA,
IVSBATCH_QUEUE_WINDOW, IVSBATCH_QUEUES, IVSBATCH_METRICS_ADDR (see README.md,
Configuration). Unset, the handlers follow the quota (quota × 2 s, 16 to 320
per endpoint; 320 with the quota off), the window the handlers (4 ×, at least
200) and the Postgres connections the handlers (8 + 1 per 32, at most 20;
pool_max_conns in IVSBATCH_DATABASE_URL overrides).`

// run is `worker run`: the environment, then the flags, into
// workermain.Config; the worker itself is workermain.Main.
func run(ctx context.Context, log *slog.Logger, args []string) error {
	m := workermain.NewMain()
	m.Log = log
	if err := m.ParseEnv(os.Getenv); err != nil {
		return err
	}
	if err := parseRunFlags(&m.Config, args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return err
	}
	return m.Close()
}

// parseRunFlags sets c from worker run's flags (their defaults are c's
// values) and refuses values that cannot work.
func parseRunFlags(c *workermain.Config, args []string) error {
	fs := cli.NewFlags("worker run", "[flags]", runAbout)
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "records handled at once per endpoint (0: quota × 2 s, 16 to 320; 320 with the quota off)")
	fs.Float64Var(&c.Quota, "quota", c.Quota, "the account's IVS quota in requests/s per endpoint, shared by all worker processes; ≤ 0 disables limiting")
	fs.IntVar(&c.Window, "window", c.Window, "tasks the feeder keeps waiting in each Redis queue, ahead of those the handlers run (0: 4 × concurrency, at least 200)")
	fs.BoolVar(&c.Feed, "feed", c.Feed, "run the feeder (Postgres → queue) in this process")
	queues := fs.String("queues", strings.Join(c.Queues, ","), "the queues this process serves and feeds, comma-separated: "+strings.Join(taskqueue.Queues, ","))
	fs.DurationVar(&c.TaskTimeout, "task-timeout", c.TaskTimeout, "upper bound for one record's task")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "time in-flight records get to finish on SIGTERM (longer than IVS_TIMEOUT)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address for /metrics and /healthz; empty to disable")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	for _, name := range []string{"concurrency", "window"} {
		if n := fs.Lookup(name).Value.(flag.Getter).Get().(int); n < 0 {
			return cli.Usagef(fs, "-%s %d: want at least 1, or 0 for the default", name, n)
		}
	}
	for _, name := range []string{"task-timeout", "shutdown-timeout"} {
		if d := fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration); d <= 0 {
			return cli.Usagef(fs, "-%s %s: want a positive duration", name, d)
		}
	}
	var err error
	if c.Queues, err = worker.ParseQueues(*queues); err != nil {
		return cli.Usagef(fs, "-queues: %v", err)
	}
	return nil
}
