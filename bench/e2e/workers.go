package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/internal/workermain"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/objstore"
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

// startWorkers starts o.workers workers and returns a function stopping
// them and, for processes, the addresses of their metrics.
func startWorkers(ctx context.Context, o options, w world) (func(), []string, error) {
	if o.procs {
		return startProcesses(ctx, o, w)
	}
	ctx, cancel := context.WithCancel(ctx)
	var mains []*workermain.Main
	stop := func() {
		cancel()
		for _, m := range mains {
			if err := m.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "bench e2e: worker:", err)
			}
		}
	}
	for range o.workers {
		m := &workermain.Main{Config: workerConfig(o, w), Log: o.logger()}
		mains = append(mains, m)
		if err := m.Run(ctx); err != nil {
			stop()
			return nil, nil, err
		}
	}
	return stop, nil, nil
}

// workerConfig is an in-process worker's Config: built by workermain.Main,
// as cmd/worker does, against the benchmark's servers.
func workerConfig(o options, w world) workermain.Config {
	c := workermain.DefaultConfig()
	c.DatabaseURL, c.Keyring = w.dbURL, benchKeys
	c.Redis = worker.RedisConfig{Conn: asynq.RedisClientOpt{Addr: w.redis, PoolSize: 2 * o.concurrencyFor()},
		Display: "redis://" + w.redis}
	c.IVS = ivs.Config{Endpoint: w.simURL, AK: simAK, SK: simSK}
	c.ObjStore = objstore.Config{MediaRoot: w.dir} // media are file:// refs under w.dir
	c.Quota = o.workerQuota()
	c.Concurrency = o.concurrency // 0: the worker sizes itself from the quota, as worker run does
	c.ReconcileCron, c.PurgeCron, c.MetricsAddr = "off", "off", ""
	return c
}

// buildWorker builds cmd/worker into dir (part of the setup, not timed).
func buildWorker(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build cmd/worker (run from the repository root): %w", err)
	}
	return bin, nil
}

// startProcesses runs o.workers copies of the worker built at w.bin, each
// serving metrics on a port of its own.
func startProcesses(ctx context.Context, o options, w world) (func(), []string, error) {
	bin := w.bin
	env := append(os.Environ(),
		"IVSBATCH_DATABASE_URL="+w.dbURL, "IVSBATCH_REDIS_ADDR="+w.redis, "IVSBATCH_REDIS_DB=0",
		"IVS_ENDPOINT="+w.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK, "IVSBATCH_MEDIA_ROOT="+w.dir,
		"IVSBATCH_QUOTA="+strconv.FormatFloat(o.workerQuota(), 'f', -1, 64))
	env = append(env, benchKeyEnv...)
	var addrs []string
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
		port, err := servers.FreePort()
		if err != nil {
			stop()
			return nil, nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		c := exec.Command(bin, workerArgs(o)...)
		c.Env = append(env, "IVSBATCH_METRICS_ADDR="+addr)
		if o.verbose {
			c.Stderr = os.Stderr
		}
		if err := c.Start(); err != nil {
			stop()
			return nil, nil, fmt.Errorf("start worker: %w", err)
		}
		cmds, addrs = append(cmds, c), append(addrs, addr)
	}
	return stop, addrs, nil
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
