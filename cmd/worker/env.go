package main

import (
	"flag"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// runEnv is what `worker run` reads from the environment (besides the
// servers' and IVS's settings), parsed strictly: a bad value stops the
// worker with a line naming the variable.
type runEnv struct {
	concurrency, window int // 0: unset, sized from the quota (worker.DefaultConcurrency)
	quota               float64
	metricsAddr         string
	dedupWindow         time.Duration
	keepPictures        string
	trimVideo           bool
	queues              string
}

func readRunEnv(get envconf.Lookup) (runEnv, error) {
	var e runEnv
	var err error
	if e.concurrency, err = envconf.PositiveInt(get, "IVSBATCH_CONCURRENCY", 0, "records handled at once"); err != nil {
		return e, err
	}
	if e.window, err = envconf.PositiveInt(get, "IVSBATCH_QUEUE_WINDOW", 0, "tasks"); err != nil {
		return e, err
	}
	if e.quota, err = envconf.Float(get, "IVSBATCH_QUOTA", 10, "requests per second (0 or less: no limit)"); err != nil {
		return e, err
	}
	if e.metricsAddr, err = envconf.HostPort(get, "IVSBATCH_METRICS_ADDR", "127.0.0.1:9090"); err != nil {
		return e, err
	}
	if e.dedupWindow, err = envconf.Duration(get, "IVSBATCH_DEDUP_WINDOW", pipeline.DefaultDedupWindow); err != nil {
		return e, err
	}
	if e.dedupWindow == 0 {
		e.dedupWindow = -1 // pipeline.Config: negative turns reuse across batches off, zero means the default
	}
	if e.keepPictures, err = envconf.URL(get, "IVSBATCH_KEEP_PICTURES", "", "s3", "file"); err != nil {
		return e, err
	}
	if e.trimVideo, err = envconf.Bool(get, "IVSBATCH_TRIM_VIDEO", false); err != nil {
		return e, err
	}
	e.queues = envconf.String(get, "IVSBATCH_QUEUES", strings.Join(taskqueue.Queues, ","))
	if _, err := worker.ParseQueues(e.queues); err != nil {
		return e, &envconf.Error{Name: "IVSBATCH_QUEUES", Value: e.queues, Want: "a comma-separated list of " +
			strings.Join(taskqueue.Queues, ", ")}
	}
	return e, nil
}

const runAbout = `Serves the queues until SIGINT/SIGTERM: fetches each record's media, checks
and prepares it, waits for the shared rate limit, calls IVS once and stores
the outcome. On SIGTERM in-flight records finish or go back to the queue.
Flags default to the environment: IVSBATCH_CONCURRENCY, IVSBATCH_QUOTA,
IVSBATCH_QUEUE_WINDOW, IVSBATCH_QUEUES, IVSBATCH_METRICS_ADDR (see README.md,
Configuration). Unset, the handlers follow the quota (quota × 2 s, 16 to 320
per endpoint; 320 with the quota off), the window the handlers (4 ×, at least
200) and the Postgres connections the handlers (8 + 1 per 32, at most 20;
pool_max_conns in IVSBATCH_DATABASE_URL overrides).`

// parseRunFlags parses worker run's flags and refuses values that cannot
// work (no handlers, an empty window, a zero timeout).
func parseRunFlags(fs *flag.FlagSet, args []string) error {
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	for _, name := range []string{"concurrency", "window"} {
		if n := fs.Lookup(name).Value.(flag.Getter).Get().(int); n < 1 {
			return cli.Usagef(fs, "-%s %d: want at least 1", name, n)
		}
	}
	for _, name := range []string{"task-timeout", "shutdown-timeout"} {
		if d := fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration); d <= 0 {
			return cli.Usagef(fs, "-%s %s: want a positive duration", name, d)
		}
	}
	if _, err := worker.ParseQueues(fs.Lookup("queues").Value.String()); err != nil {
		return cli.Usagef(fs, "-queues: %v", err)
	}
	return nil
}

// sizeFromQuota applies the sizing defaults to what the command line left
// unset: the flags' defaults came from IVSBATCH_QUOTA, so a -quota given
// alone sizes the handlers again (worker.DefaultConcurrency), and the window
// follows the handlers (worker.DefaultWindow). Values set in the environment
// or on the command line are kept.
func sizeFromQuota(fs *flag.FlagSet, env runEnv, concurrency, window *int) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["concurrency"] && env.concurrency == 0 {
		quota := fs.Lookup("quota").Value.(flag.Getter).Get().(float64)
		*concurrency = worker.DefaultConcurrency(quota)
	}
	if !set["window"] && env.window == 0 {
		*window = worker.DefaultWindow(*concurrency)
	}
}
