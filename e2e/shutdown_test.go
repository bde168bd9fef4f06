package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/ratelimit"
	"github.com/ivsbatch/ivsbatch/worker"
)

// On shutdown (SIGTERM cancels the worker's context) the records being
// verified finish, the others stay queued; nothing is left in flight, and a
// new worker completes the batch without paying twice.
func TestGracefulShutdownLeavesNothingInFlight(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: -1, Latency: ivssim.Latency{Fixed: 800 * time.Millisecond}})
	batch := h.submit()

	run := func(ctx context.Context) chan struct{} {
		rdb := redis.NewClient(&redis.Options{Addr: h.redis})
		proc := &pipeline.Processor{Records: h.st, Account: h.st, Verifier: h.client(false),
			Fetcher: worker.RejectingFetcher{Store: h.objs}, Preparer: media.New(media.Config{}),
			Limiter: ratelimit.New(rdb, ratelimit.Config{PerSecond: -1}), Policy: pipeline.DefaultPolicy(), Log: h.log}
		w := worker.New(worker.Config{Concurrency: 4, Window: 8, Feed: true, ShutdownTimeout: 10 * time.Second, Log: h.log},
			rdb, proc, h.st)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer rdb.Close()
			if err := w.Run(ctx); err != nil {
				t.Errorf("worker: %v", err)
			}
		}()
		return done
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := run(ctx)
	deadline := time.Now().Add(time.Minute)
	for h.sim.Ledger().Requests < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // as SIGTERM does
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within its shutdown timeout")
	}
	counts, err := h.st.BatchCounts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if counts.ByStatus[pipeline.StatusInFlight] != 0 {
		t.Fatalf("after shutdown: %v; nothing may stay in flight", counts.ByStatus)
	}
	if counts.Open() == 0 {
		t.Fatal("the batch finished before the shutdown; the test proved nothing")
	}
	attempts, _ := h.st.ListAttempts(h.ctx, batch)
	for _, a := range attempts {
		if a.State == "in_flight" {
			t.Fatalf("attempt %d left in flight after a graceful shutdown", a.ID)
		}
	}
	billedBefore := h.sim.Ledger().TotalBilled

	ctx2, cancel2 := context.WithCancel(h.ctx)
	done = run(ctx2)
	t.Cleanup(func() { cancel2(); <-done })
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 1<<30)
	if h.sim.Ledger().TotalBilled <= billedBefore {
		t.Fatal("the second worker billed nothing")
	}
}
