package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Two workers of one fleet (two processes' stores on one database, one
// Redis): exactly one exports the fleet-wide series, so a sum over the fleet
// counts each record once, with the values Postgres and Redis hold; when the
// elected worker's session dies the other takes over at its next scrape.
func TestFleetSeriesExportedOnce(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	keys := testenv.Keyring(t)
	open := func() *store.Store {
		st, err := store.Open(ctx, url, store.WithKeyring(keys))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st
	}
	st1, st2 := open(), open()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	defer rdb.Close()

	// A batch of 3 records with a budget: one claimed (in flight), two
	// pending; a reconcile run that needs a human; one task waiting in the
	// standard endpoint's queue.
	b, _, err := st1.CreateBatch(ctx, pipeline.Batch{Name: "m", ManifestSHA256: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.NewRecord
	for i := range 3 {
		rows = append(rows, store.NewRecord{Input: pipeline.Input{Ref: string(rune('a' + i)), Line: i + 2, Shape: pipeline.ShapeName,
			Name: "张伟", IDNumber: "11010119900307803X"}})
	}
	if _, err := st1.InsertInputs(ctx, b.ID, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := st1.SetBudget(ctx, b.ID, 100, nil); err != nil {
		t.Fatal(err)
	}
	refs, err := st1.ClaimPending(ctx, pipeline.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim: %v %v", refs, err)
	}
	if _, err := st1.Claim(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := st1.SaveReconcile(ctx, time.Now(), true, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	if _, err := client.Enqueue(asynq.NewTask("probe", nil), asynq.Queue(taskqueue.QueueStandard)); err != nil {
		t.Fatal(err)
	}

	// A task timeout below zero makes the record in flight "too long" at once.
	fleet := []prometheus.Gatherer{}
	for _, st := range []*store.Store{st1, st2} {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(worker.NewFleetCollector(st, rdb, -time.Second, nil))
		fleet = append(fleet, reg)
	}
	sum := func(name string, labels ...string) (total float64, exporters int) {
		for _, g := range fleet {
			if v, ok := value(t, g, name, labels...); ok {
				total += v
			}
			if v, _ := value(t, g, "ivsbatch_fleet_exporter"); v == 1 {
				exporters++
			}
		}
		return total, exporters
	}
	batch := strconv.FormatInt(b.ID, 10)
	for _, round := range []string{"both scraped", "scraped again"} {
		if n, exporters := sum("ivsbatch_records", "status", "pending"); n != 2 || exporters != 1 {
			t.Fatalf("%s: pending records summed over the fleet %v with %d exporters, want 2 from exactly 1", round, n, exporters)
		}
	}
	elected, other := fleet[0], fleet[1]
	if v, _ := value(t, elected, "ivsbatch_fleet_exporter"); v != 1 {
		elected, other = other, elected
	}
	if _, ok := value(t, other, "ivsbatch_batch_records"); ok {
		t.Fatal("the worker that is not elected exports batch records")
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ivsbatch_batch_records", []string{"batch", batch, "status", "pending"}, 2},
		{"ivsbatch_batch_records", []string{"batch", batch, "status", "in_flight"}, 1},
		{"ivsbatch_batch_records", []string{"batch", batch, "status", "done"}, 0},
		{"ivsbatch_batch_budget_max_billed", []string{"batch", batch}, 100},
		{"ivsbatch_records_in_flight_too_long", nil, 1},
		{"ivsbatch_reconcile_needs_human", nil, 1},
		{"ivsbatch_account_paused", nil, 0},
		{"ivsbatch_oldest_open_record_timestamp_seconds", []string{"batch", batch}, float64(b.CreatedAt.Unix())},
		{"ivsbatch_queue_tasks", []string{"endpoint", string(pipeline.EndpointStandard), "state", "pending"}, 1},
	} {
		if got, ok := value(t, elected, tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}

	// The elected worker's session dies (its host is gone, Postgres ended
	// it): the other worker is elected at its next scrape, the first sees
	// that it no longer holds the lease, and the fleet still counts once.
	killed, err := st1.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil || killed.RowsAffected() != 1 {
		t.Fatalf("terminate the lease's session: %v (%d sessions)", err, killed.RowsAffected())
	}
	// The terminated backend releases the lease when it has exited, a
	// moment after pg_terminate_backend returns: the other worker takes
	// over at one of its next scrapes.
	testenv.Eventually(t, 30*time.Second, func() bool {
		v, _ := value(t, other, "ivsbatch_fleet_exporter")
		return v == 1
	}, func() string { return "the other worker did not take over after the elected one's session died" })
	if v, _ := value(t, elected, "ivsbatch_fleet_exporter"); v != 0 {
		t.Fatal("the first worker still exports after losing its session")
	}
	if n, exporters := sum("ivsbatch_records", "status", "pending"); n != 2 || exporters != 1 {
		t.Fatalf("after the takeover: pending records summed %v with %d exporters, want 2 from exactly 1", n, exporters)
	}
}
