package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// processes runs real cmd/worker processes against the harness's servers.
type processes struct {
	h   *harness
	bin string
	env []string
	out *syncBuffer
}

// newProcesses builds cmd/worker and switches the harness's store to keys
// the processes get through the environment, as an operator's would.
func newProcesses(t *testing.T, h *harness, extraEnv ...string) *processes {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/worker")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(3*i+1), byte(200-i)
	}
	k, err := pii.NewKeyring(map[string][]byte{"proc": key}, "proc", index)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.dbURL, store.WithKeyring(k))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	h.st = st
	p := &processes{h: h, bin: filepath.Join(bin, "worker"), out: &syncBuffer{}}
	p.env = append(os.Environ(),
		"IVSBATCH_DATABASE_URL="+h.dbURL, "IVSBATCH_REDIS_ADDR="+h.redis,
		"IVSBATCH_S3_ENDPOINT="+h.s3.Endpoint, "AWS_ACCESS_KEY_ID="+h.s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+h.s3.SecretKey,
		"AWS_REGION="+h.s3.Region, "IVSBATCH_S3_BUCKETS="+bucket, "IVS_ENDPOINT="+h.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK,
		"IVSBATCH_PII_KEYS=proc:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index),
		"IVSBATCH_METRICS_ADDR=", "IVSBATCH_RECONCILE_CRON=off", "IVSBATCH_PURGE_CRON=off")
	p.env = append(p.env, extraEnv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker processes' output:\n%s", p.out.tail(8000))
		}
	})
	return p
}

// start starts a worker process; it is killed when the test ends.
func (p *processes) start(args ...string) *exec.Cmd {
	p.h.t.Helper()
	cmd := exec.Command(p.bin, append([]string{"run"}, args...)...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		p.h.t.Fatal(err)
	}
	p.h.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// A worker process is SIGKILLed while it holds records in the middle of
// their IVS calls. Within 60 s each of them is final or moving again (handed
// to the other worker with a new generation, the dead call closed as
// possibly billed), never sent twice at once; the batch completes with its
// expected outcomes, and every call the simulator billed is stored as billed
// or possibly billed.
func TestWorkerSIGKILLRecoveredWithin60s(t *testing.T) {
	t.Parallel()
	// Calls last longer than asynq's heartbeat (5 s), which is what lists a
	// server's active tasks: a record seen held by the victim is still in
	// its call when the victim is killed.
	h := newHarness(t, ivssim.Config{Quota: 10, Latency: ivssim.Latency{Fixed: 7 * time.Second}})
	p := newProcesses(t, h)
	batch := h.submit()
	victim := p.start("-concurrency", "3", "-window", "6")
	p.start("-concurrency", "3", "-window", "6")

	rdb := redis.NewClient(&redis.Options{Addr: h.redis})
	defer rdb.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	held := map[int64]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(held) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the victim never held two records in flight")
		}
		time.Sleep(100 * time.Millisecond)
		clear(held)
		servers, err := insp.Servers()
		if err != nil {
			continue
		}
		for _, s := range servers {
			if s.PID != victim.Process.Pid {
				continue
			}
			for _, w := range s.ActiveWorkers {
				var ref pipeline.TaskRef
				if json.Unmarshal(w.TaskPayload, &ref) == nil {
					if r, err := h.st.GetRecord(h.ctx, ref.RecordID); err == nil && r.Status == pipeline.StatusInFlight {
						held[ref.RecordID] = true
					}
				}
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // their calls are on the wire (7 s each)
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = victim.Wait()

	var slowest time.Duration
	for id := range held {
		for {
			r, err := h.st.GetRecord(h.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.Terminal() || r.UpdatedAt.After(killed) {
				slowest = max(slowest, time.Since(killed))
				break
			}
			if time.Since(killed) > 60*time.Second {
				t.Fatalf("record %d still %s, untouched 60 s after its worker was killed", id, r.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("the %d records the dead worker held were moving again within %s", len(held), slowest.Round(time.Second))

	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	l := h.sim.Ledger()
	if len(l.Duplicates) > 0 {
		t.Errorf("uuids billed more than once: %v", l.Duplicates)
	}
	attempts, err := h.st.ListAttempts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	abandoned := 0
	for _, a := range attempts {
		if a.State == "in_flight" {
			t.Errorf("attempt %d still in flight", a.ID)
		}
		if a.Billed || a.PossiblyBilled {
			stored[a.UUID] = true
		}
		if a.State == "abandoned" && a.PossiblyBilled {
			abandoned++
		}
	}
	for uuid, n := range l.BilledByUUID {
		if n > 0 && !stored[uuid] {
			t.Errorf("the simulator billed %s; Postgres has it neither billed nor possibly billed", uuid)
		}
	}
	if abandoned == 0 {
		t.Error("no attempt was closed as abandoned and possibly billed; the dead worker's calls are unaccounted")
	}
}

// Two worker processes with the reconcile schedule set to every minute run
// reconcile exactly once per minute between them.
func TestScheduledReconcileOncePerMinute(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ivssim.Config{Quota: 10})
	p := newProcesses(t, h, "IVSBATCH_RECONCILE_CRON=* * * * *")
	a := p.start("-concurrency", "1")
	b := p.start("-concurrency", "1")
	first := time.Now().Add(5 * time.Second).Truncate(time.Minute).Add(time.Minute)
	until := first.Add(time.Minute + 25*time.Second) // two slots, and time for the second run
	ctx, cancel := context.WithDeadline(h.ctx, until)
	defer cancel()
	<-ctx.Done()
	for _, c := range []*exec.Cmd{a, b} {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
	}
	slots, err := h.st.ReconcileSlots(h.ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 2 || !slots[0].Slot.Equal(first) || !slots[1].Slot.Equal(first.Add(time.Minute)) {
		t.Fatalf("slots %+v; want exactly %s and the minute after", slots, first)
	}
	for _, s := range slots {
		if s.RunID == 0 {
			t.Errorf("slot %s claimed by %s but no run stored", s.Slot, s.Worker)
		}
	}
	var runs int
	if err := h.st.Pool().QueryRow(h.ctx, `SELECT count(*) FROM reconcile_runs WHERE started_at >= $1`, first).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("%d reconcile runs since %s; want 2, one per minute between the two workers", runs, first)
	}
	t.Logf("slots run by %s and %s", slots[0].Worker, slots[1].Worker)
}
