package e2e_test

import (
	"fmt"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Redis as operators deploy it (issue 15): TLS with a client certificate,
// Sentinel with a failover mid-batch, a restart that loses every key.

// waitBilled waits until the simulator billed at least n calls.
func (h *harness) waitBilled(n int) {
	h.t.Helper()
	testenv.Eventually(h.t, time.Minute, func() bool { return h.sim.Ledger().TotalBilled >= n },
		func() string { return fmt.Sprintf("only %d calls billed, want %d", h.sim.Ledger().TotalBilled, n) })
}

// The queue and the shared limiter over a TLS-only redis-server that wants
// a client certificate, configured as an operator would: IVSBATCH_REDIS_URL
// and the IVSBATCH_REDIS_TLS_* files.
func TestBatchOverTLSRedis(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	srv := testenv.RedisTLS(t)
	rc, err := config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": srv.URL(),
		"IVSBATCH_REDIS_TLS_CA_FILE": srv.CAFile, "IVSBATCH_REDIS_TLS_CERT_FILE": srv.CertFile, "IVSBATCH_REDIS_TLS_KEY_FILE": srv.KeyFile}))
	if err != nil {
		t.Fatal(err)
	}
	h.redisConf = &rc
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2})
	h.wait(batch, 2*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	rdb := rc.NewClient()
	defer rdb.Close()
	if n, err := rdb.Exists(h.ctx, worker.RedisMarkerKey).Result(); err != nil || n != 1 {
		t.Fatalf("the workers' marker is not in the TLS Redis (%d, %v): they used another one", n, err)
	}
}

// The primary is SIGKILLed mid-batch; Sentinel promotes the replica, the
// workers follow it, and what the replica had not received comes back from
// Postgres: every record final with its expected outcome, no uuid billed
// twice, every billed call stored.
func TestSentinelFailoverMidBatch(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Latency: ivssim.Latency{Fixed: 300 * time.Millisecond}})
	set := testenv.RedisSentinel(t)
	rc, err := config.Redis(env(map[string]string{"IVSBATCH_REDIS_URL": set.URL()}))
	if err != nil {
		t.Fatal(err)
	}
	h.redisConf = &rc
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, handlers: 1})
	h.waitBilled(5)
	set.KillPrimary(t)
	killed := time.Now()
	set.WaitFailover(t, 30*time.Second)
	t.Logf("failover after %s", time.Since(killed).Round(time.Millisecond))
	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	if h.sim.Ledger().TotalBilled <= 5 {
		t.Fatal("nothing was billed after the failover; the test proves nothing")
	}
}

// Redis restarts without persistence mid-batch: no operator runs anything,
// yet the feeders notice and re-enqueue from Postgres, and the batch
// completes within two minutes of the restart.
func TestRedisRestartedEmptyMidBatch(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Latency: ivssim.Latency{Fixed: 300 * time.Millisecond}})
	r := testenv.RedisRestartable(t)
	h.redis = r.Addr
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, handlers: 1})
	h.waitBilled(5)
	r.Restart()
	restarted := time.Now()
	counts, err := h.st.BatchCounts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if counts.ByStatus[pipeline.StatusQueued]+counts.ByStatus[pipeline.StatusInFlight] == 0 {
		t.Fatalf("nothing queued at the restart (%v); the test proves nothing", counts.ByStatus)
	}
	h.wait(batch, 2*time.Minute)
	t.Logf("batch complete %s after the restart (records at the restart: %v)", time.Since(restarted).Round(time.Second), counts.ByStatus)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
