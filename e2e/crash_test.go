package e2e_test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/store"
)

// A real worker process is SIGKILLed while it holds budget reservations
// (a slow limiter keeps its records waiting between reservation and call);
// a second process takes over and the batch still bills exactly its cap:
// the killed worker's reservations were never sent, so the next claim of
// each record gives their slots back, and nothing drifts.
func TestKilledWorkerBillsExactlyTheCap(t *testing.T) {
	const budget = 5
	h := newHarness(t, ivssim.Config{Quota: 10})
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(7*i+1), byte(200-i)
	}
	keys, err := pii.NewKeyring(map[string][]byte{"crash": key}, "crash", index)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.dbURL, store.WithKeyring(keys)) // the processes' keys
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src := h.ref("manifests/crash.csv")
	if err := h.objs.Put(h.ctx, src, h.pop.ManifestCSV("s3://"+bucket+"/"), "text/csv"); err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(h.ctx, st, h.objs.Open, src, ingest.SubmitOptions{Name: t.Name(), Logger: h.log})
	if err != nil {
		t.Fatal(err)
	}
	batch := sum.BatchID
	if _, err := ops.SetBudget(h.ctx, st, batch, budget, "e2e"); err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/worker")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s3 := h.s3
	output := &syncBuffer{}
	worker := func(quota string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, "worker"), "run", "-concurrency", "8", "-window", "20", "-quota", quota)
		cmd.Env = append(os.Environ(),
			"IVSBATCH_DATABASE_URL="+h.dbURL, "IVSBATCH_REDIS_ADDR="+h.redis,
			"IVSBATCH_S3_ENDPOINT="+s3.Endpoint, "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
			"AWS_REGION="+s3.Region, "IVSBATCH_S3_BUCKETS="+bucket, "IVS_ENDPOINT="+h.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK,
			"IVSBATCH_PII_KEYS=crash:"+base64.StdEncoding.EncodeToString(key),
			"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index),
			"IVSBATCH_METRICS_ADDR=")
		cmd.Stdout, cmd.Stderr = output, output
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	slots := func(state string) int {
		var n int
		if err := st.Pool().QueryRow(h.ctx, `SELECT count(*) FROM attempts WHERE batch_id = $1 AND state = $2`,
			batch, state).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// One call every ~3.4 s per endpoint: after the first calls, the other
	// records wait for the limiter holding a reservation. The kill comes
	// right after the second call ends (the endpoints' schedules start
	// together, so both are then ~3 s from their next send; a call gated or
	// on the wire would rightly count as possibly billed, which the
	// simulator may not have billed).
	first := worker("0.3")
	deadline := time.Now().Add(time.Minute)
	for slots("reserved") < 3 || slots("in_flight") != 0 || slots("finished") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no reservations held after a minute (%d billed)\n%s", h.sim.Ledger().TotalBilled, output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.Wait()
	reserved, billedAtKill := slots("reserved"), h.sim.Ledger().TotalBilled
	if reserved == 0 || billedAtKill >= budget || slots("in_flight") != 0 {
		t.Fatalf("at the kill: %d reserved, %d billed; the kill did not fall between reservation and call", reserved, billedAtKill)
	}
	t.Logf("killed with %d reservations held and %d calls billed", reserved, billedAtKill)

	second := worker("10")
	deadline = time.Now().Add(3 * time.Minute) // asynq hands a dead worker's tasks on after their lease
	for {
		c, err := st.BatchCounts(h.ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if c.Open() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch not finished after the kill: %v\n%s", c.ByStatus, output.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = second.Process.Kill()
	if got := h.sim.Ledger().TotalBilled; got != budget {
		t.Errorf("billed %d calls with a budget of %d", got, budget)
	}
	b, err := st.GetBudget(h.ctx, batch)
	if err != nil || b.Used != budget || b.Billed != budget || b.Possibly != 0 {
		t.Errorf("budget: %+v %v; want %d used, all billed", b, err, budget)
	}
	if n := slots("reserved") + slots("in_flight"); n != 0 {
		t.Errorf("%d attempts left reserved or in flight", n)
	}
	if drift, err := st.RecomputeBudgets(h.ctx); err != nil || len(drift) != 0 {
		t.Errorf("budget drift after the crash: %+v %v", drift, err)
	}
}
