// Command e2e measures the whole pipeline's throughput: a synthetic batch is
// enqueued into a fresh Postgres database, fed through a private Redis to
// worker instances, verified by an in-process IVS simulator on loopback, and
// timed from the moment the workers start until every record is terminal.
//
//	go run ./bench/e2e -records 300 -quota -1 -latency 0 -workers 1
//	go run ./bench/e2e -records 120 -quota 10 -latency 300ms -workers 2 -procs
//	go run ./bench/e2e -records 12000 -quota 200 -latency 300ms -workers 2 -procs -shapes two-factor
//
// With -procs the workers are separate `worker` processes (built from
// ./cmd/worker); otherwise they are in-process instances sharing nothing but
// Postgres and Redis, as processes would. Media is read from file:// refs in a
// temporary directory. Postgres comes from IVSBATCH_PG_ADMIN_URL (admin URL;
// a database is created and dropped); redis-server must be in PATH.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/worker"
)

// options are the benchmark's flags.
type options struct {
	records     int
	quota       float64
	latency     time.Duration
	workers     int
	concurrency int
	procs       bool
	seed        int64
	timeout     time.Duration
	verbose     bool
	shapes      []pipeline.Shape // nil: every image and text kind
}

func main() {
	var o options
	flag.IntVar(&o.records, "records", 300, "records in the batch (images and text shapes, no video)")
	flag.Float64Var(&o.quota, "quota", -1, "requests/s per endpoint, enforced by the simulator and the workers; negative = off")
	flag.DurationVar(&o.latency, "latency", 0, "simulated IVS latency per call")
	flag.IntVar(&o.workers, "workers", 1, "worker instances (or processes with -procs)")
	flag.IntVar(&o.concurrency, "concurrency", 0, "handlers per worker and endpoint; default: the worker's own (worker.DefaultConcurrency of the quota)")
	flag.BoolVar(&o.procs, "procs", false, "run workers as separate processes (go build ./cmd/worker)")
	flag.Int64Var(&o.seed, "seed", 1, "population seed")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up after this long")
	flag.BoolVar(&o.verbose, "v", false, "log worker warnings")
	shapes := flag.String("shapes", "all", `the batch's shapes: "all" (images and text), "two-factor" (name + id number only: no media to prepare), or a comma-separated list (name,card,…)`)
	flag.Parse()
	var err error
	if o.shapes, err = parseShapes(*shapes); err != nil {
		fmt.Fprintln(os.Stderr, "bench e2e:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	res, err := run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench e2e:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, o)
}

// concurrencyFor is the handlers per worker and endpoint: -concurrency, or
// what `worker run` takes for the quota when not told.
func (o options) concurrencyFor() int {
	if o.concurrency > 0 {
		return o.concurrency
	}
	return worker.DefaultConcurrency(o.workerQuota())
}

// parseShapes reads -shapes.
func parseShapes(v string) ([]pipeline.Shape, error) {
	switch v {
	case "", "all":
		return nil, nil
	case "two-factor":
		return []pipeline.Shape{pipeline.ShapeName}, nil
	}
	var out []pipeline.Shape
	for _, f := range strings.Split(v, ",") {
		s := pipeline.Shape(strings.TrimSpace(f))
		if !slices.Contains(pipeline.Shapes, s) {
			return nil, fmt.Errorf("-shapes: unknown shape %q (want all, two-factor or some of %v)", f, pipeline.Shapes)
		}
		out = append(out, s)
	}
	return out, nil
}

func (o options) logger() *slog.Logger {
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
