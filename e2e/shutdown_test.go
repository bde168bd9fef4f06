package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// On shutdown (SIGTERM cancels the worker's context) the records being
// verified finish, the others stay queued; nothing is left in flight, and a
// new worker completes the batch without paying twice.
func TestGracefulShutdownLeavesNothingInFlight(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: -1, Latency: ivssim.Latency{Fixed: 800 * time.Millisecond}})
	batch := h.submit()

	h.startWorkers(workerOpts{n: 1, quota: -1, handlers: 2})
	testenv.Eventually(t, time.Minute, func() bool { return h.sim.Ledger().Requests >= 5 },
		func() string { return fmt.Sprintf("%d requests reached IVS, want 5", h.sim.Ledger().Requests) })
	stopped := make(chan struct{})
	go func() { h.stopWorkers(); close(stopped) }() // as SIGTERM does
	select {
	case <-stopped:
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

	h.startWorkers(workerOpts{n: 1, quota: -1, handlers: 2})
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 1<<30)
	if h.sim.Ledger().TotalBilled <= billedBefore {
		t.Fatal("the second worker billed nothing")
	}
}
