package worker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/recovery"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// feedBatch opens a store on a fresh database with a batch of n pending
// two-factor records, one in imageEvery of them with a face image (the
// standard endpoint's queue). The store closes with the test.
func feedBatch(t *testing.T, n, imageEvery int) (*store.Store, pipeline.Batch) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "feed", ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.NewRecord
	for i := range n {
		in := pipeline.Input{Ref: fmt.Sprint(i), Line: i + 2, Shape: ivs.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}
		if i%imageEvery == 0 {
			in.Shape, in.FaceImage = ivs.ShapeNameFaceImage, "s3://media/face.jpg"
		}
		rows = append(rows, store.NewRecord{Input: in})
	}
	if _, err := st.InsertInputs(ctx, b.ID, rows); err != nil {
		t.Fatal(err)
	}
	return st, b
}

// The feeder keeps the queue a bounded window ahead (a big batch never sits
// in Redis whole), enqueuing is idempotent, and after Redis loses its data
// Recover re-queues exactly what Postgres says is queued.
func TestFeederWindowAndRecovery(t *testing.T) {
	ctx := context.Background()
	st, b := feedBatch(t, 300, 3) // a third goes to the standard endpoint
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	defer rdb.Close()
	enq := &taskqueue.Enqueuer{Client: asynq.NewClientFromRedisClient(rdb), Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Redis: rdb}
	f := &worker.Feeder{Store: st, Enqueuer: enq, Window: 40}
	clock := time.Now().Add(time.Minute)
	rec := &recovery.Recoverer{Store: st, Enqueuer: enq, Now: func() time.Time { return clock }}
	total := 0
	for range 5 {
		n, err := f.FeedOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	for _, q := range taskqueue.Queues {
		size, err := enq.QueueSize(q)
		if err != nil {
			t.Fatal(err)
		}
		if size != 40 {
			t.Fatalf("queue %s holds %d tasks; want the window (40)", q, size)
		}
	}
	if total != 80 {
		t.Fatalf("%d tasks enqueued; want a window of 40 per endpoint", total)
	}
	counts, _ := st.BatchCounts(ctx, b.ID)
	if counts.ByStatus[pipeline.StatusQueued] != 80 || counts.ByStatus[pipeline.StatusPending] != 220 {
		t.Fatalf("statuses %v", counts.ByStatus)
	}
	// Enqueuing a task already in the queue changes nothing.
	if added, err := enq.Enqueue(ctx, pipeline.TaskRef{RecordID: 1, Generation: 1, Shape: ivs.ShapeNameFaceImage}); err != nil || added {
		t.Fatalf("re-enqueue: added=%v err=%v", added, err)
	}
	// Redis loses everything.
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A claimed record whose worker died mid-call (its task gone with Redis,
	// its call older than the call grace), and one whose worker is alive and
	// mid-call (its call may still be on the wire).
	callInFlight := func(ref pipeline.TaskRef, ep ivs.Endpoint, sent time.Time) {
		t.Helper()
		r, err := st.Claim(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		aid, ok, err := st.Reserve(ctx, pipeline.AttemptStart{RecordID: r.ID, BatchID: r.BatchID, Generation: 1,
			UUID: ref.UUID(), Endpoint: ep, StartedAt: sent})
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := st.Send(ctx, aid, sent); err != nil {
			t.Fatal(err)
		}
	}
	callInFlight(pipeline.TaskRef{RecordID: 1, Generation: 1, Shape: ivs.ShapeNameFaceImage}, ivs.EndpointStandard,
		time.Now().Add(-store.DefaultCallGrace-time.Second))
	live := pipeline.TaskRef{RecordID: 2, Generation: 1, Shape: ivs.ShapeName}
	callInFlight(live, ivs.EndpointExtention, time.Now())
	// First round: every open record is only suspected.
	if s, err := rec.Round(ctx); err != nil || s.Open != 80 || s.Lost != 0 {
		t.Fatalf("first round: %+v (%v); want 80 open, none handed back yet", s, err)
	}
	clock = clock.Add(recovery.LostAfter)
	s, err := rec.Round(ctx)
	if err != nil || s.Lost != 80 || s.AttemptsClosed != 1 || s.NewGeneration != 0 {
		t.Fatalf("second round: %+v (%v); want the 80 queued records back, one attempt closed", s, err)
	}
	clock = clock.Add(recovery.LostAfter)
	for range 2 {
		if s, err := rec.Round(ctx); err != nil || s.Lost != 0 {
			t.Fatalf("later round: %+v (%v); the tasks are back, nothing is lost", s, err)
		}
		clock = clock.Add(recovery.LostAfter)
	}
	r1, err := st.GetRecord(ctx, 1)
	if err != nil || r1.Status != pipeline.StatusQueued || r1.Attempts != 1 || r1.Generation != 1 {
		t.Fatalf("the dead worker's record: %+v (%v); want queued, one attempt counted", r1, err)
	}
	attempts, _ := st.ListAttempts(ctx, b.ID)
	if len(attempts) != 2 || attempts[0].State != "abandoned" || !attempts[0].PossiblyBilled ||
		attempts[1].State != "in_flight" {
		t.Fatalf("attempts %+v; want the dead worker's abandoned and possibly billed, the live one's left in flight", attempts)
	}
	// The live worker's record is left to it; its task is back in the
	// queue, and a worker that takes it waits for the call to end.
	if r2, err := st.GetRecord(ctx, 2); err != nil || r2.Status != pipeline.StatusInFlight || r2.Attempts != 0 {
		t.Fatalf("the live worker's record: %+v (%v); want in flight, untouched", r2, err)
	}
	if added, err := enq.Enqueue(ctx, live); err != nil || added {
		t.Fatalf("the live worker's task is not back in the queue: added=%v err=%v", added, err)
	}
	if _, err := st.Claim(ctx, live); !errors.Is(err, pipeline.ErrCallInFlight) {
		t.Fatalf("claim of the live worker's record: %v; want ErrCallInFlight", err)
	}
	for _, q := range taskqueue.Queues {
		if size, _ := enq.QueueSize(q); size != 40 {
			t.Fatalf("queue %s holds %d after recovery", q, size)
		}
	}
}

// A worker for one queue feeds that queue only: the other endpoint's
// records stay pending in Postgres for the processes that serve it.
func TestFeederServesItsQueuesOnly(t *testing.T) {
	ctx := context.Background()
	st, b := feedBatch(t, 60, 2)
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	defer rdb.Close()
	enq := &taskqueue.Enqueuer{Client: asynq.NewClientFromRedisClient(rdb), Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Redis: rdb}
	queues, err := worker.ParseQueues(" ivs-extention ")
	if err != nil {
		t.Fatal(err)
	}
	f := &worker.Feeder{Store: st, Enqueuer: enq, Window: 100, Queues: queues}
	if n, err := f.FeedOnce(ctx); err != nil || n != 30 {
		t.Fatalf("fed %d (%v); want the 30 two-factor records", n, err)
	}
	if size, _ := enq.QueueSize(taskqueue.QueueStandard); size != 0 {
		t.Fatalf("standard queue holds %d; want 0", size)
	}
	counts, _ := st.BatchCounts(ctx, b.ID)
	if counts.ByStatus[pipeline.StatusPending] != 30 || counts.ByStatus[pipeline.StatusQueued] != 30 {
		t.Fatalf("counts %v; want 30 pending (standard) and 30 queued", counts.ByStatus)
	}
	for _, bad := range []string{"", "ivs-standard,ivs-nope", "standard"} {
		if _, err := worker.ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) accepted", bad)
		}
	}
	if q, err := worker.ParseQueues("ivs-standard,ivs-extention,ivs-standard"); err != nil || len(q) != 2 {
		t.Errorf("ParseQueues of both (one twice): %v %v", q, err)
	}
}
