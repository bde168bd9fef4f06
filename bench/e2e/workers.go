package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/ratelimit"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// workerQuota is the quota the workers pace themselves to: the account's
// quota, or effectively none when the simulator has none.
func (o options) workerQuota() float64 {
	if o.quota > 0 {
		return o.quota
	}
	return -1 // no limiting
}

// startWorkers starts o.workers workers and returns a function stopping them.
func startWorkers(ctx context.Context, o options, w world) (func(), error) {
	if o.procs {
		return startProcesses(ctx, o, w)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	for range o.workers {
		wk, closeWorker, err := newWorker(ctx, o, w)
		if err != nil {
			stop()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer closeWorker()
			if err := wk.Run(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "bench e2e: worker:", err)
			}
		}()
	}
	return stop, nil
}

// newWorker returns an in-process worker and a function that closes its
// connections once it has stopped.
func newWorker(ctx context.Context, o options, w world) (*worker.Worker, func(), error) {
	client, err := ivs.New(ivs.WithEndpoint(w.simURL), ivs.WithAKSK(simAK, simSK))
	if err != nil {
		return nil, nil, err
	}
	fetcher, err := objstore.New(ctx, objstore.Config{MediaRoot: w.dir}) // media are file:// refs under w.dir
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, w.dbURL, store.WithKeyring(benchKeys),
		store.WithDefaultMaxConns(worker.PoolConns(o.concurrencyFor(), 2))) // as worker run sizes its pool
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: w.redis, PoolSize: 2 * o.concurrencyFor()})
	closeAll := func() { _ = rdb.Close(); st.Close() }
	limiter := ratelimit.New(rdb, ratelimit.Config{PerSecond: o.workerQuota()}) // wired as cmd/worker does
	proc, err := pipeline.NewProcessor(pipeline.Config{
		Records: st, Account: st, Verifier: limiter.Gate(client),
		Fetcher: worker.RejectingFetcher{Store: fetcher}, Preparer: media.New(media.Config{}),
		Limiter: limiter,
		Policy:  pipeline.DefaultPolicy(), Log: o.logger(),
		Dedup: st, Index: benchKeys,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return worker.New(worker.Config{Concurrency: o.concurrencyFor(), Window: worker.DefaultWindow(o.concurrencyFor()), Feed: true,
		Log: o.logger()}, rdb, proc, st), closeAll, nil
}

// startProcesses builds cmd/worker and runs o.workers copies of it.
func startProcesses(ctx context.Context, o options, w world) (func(), error) {
	bin := filepath.Join(w.dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build cmd/worker (run from the repository root): %w", err)
	}
	env := append(os.Environ(),
		"IVSBATCH_DATABASE_URL="+w.dbURL, "IVSBATCH_REDIS_ADDR="+w.redis, "IVSBATCH_REDIS_DB=0",
		"IVS_ENDPOINT="+w.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK, "IVSBATCH_MEDIA_ROOT="+w.dir,
		"IVSBATCH_QUOTA="+strconv.FormatFloat(o.workerQuota(), 'f', -1, 64),
		"IVSBATCH_METRICS_ADDR=")
	env = append(env, benchKeyEnv...)
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				_ = c.Process.Kill()
				<-done
			}
		}
	}
	for range o.workers {
		c := exec.Command(bin, workerArgs(o)...)
		c.Env = env
		if o.verbose {
			c.Stderr = os.Stderr
		}
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

// workerArgs are the command-line arguments of a worker process: none but
// run unless -concurrency was given (the quota and the addresses are in its
// environment), so that the worker sizes itself as shipped.
func workerArgs(o options) []string {
	if o.concurrency > 0 {
		return []string{"run", "-concurrency", strconv.Itoa(o.concurrency)}
	}
	return []string{"run"}
}
