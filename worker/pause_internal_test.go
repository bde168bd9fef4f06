package worker

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// setQueuePaused wraps asynq's untyped "already paused"/"not paused" errors:
// setting a queue to the state it is in is not an error, on a queue asynq
// lists and on one it does not (nothing enqueued since Redis started), and
// the queue ends in the state asked for.
func TestSetQueuePausedIsIdempotent(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	defer rdb.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	enq := taskqueue.NewEnqueuer(rdb, 0)
	if _, err := enq.Enqueue(context.Background(), pipeline.TaskRef{RecordID: 1, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	for _, q := range taskqueue.Queues { // taskqueue.QueueStandard is listed (a task), taskqueue.QueueExtention is not
		for _, paused := range []bool{true, true, false, false, true} {
			if err := setQueuePaused(insp, q, paused); err != nil {
				t.Fatalf("%s: set paused=%v: %v", q, paused, err)
			}
			if q == taskqueue.QueueStandard {
				info, err := insp.GetQueueInfo(q)
				if err != nil || info.Paused != paused {
					t.Fatalf("%s: after set paused=%v: %+v, %v", q, paused, info, err)
				}
			}
		}
	}
	// A plain asynq call on the paused queue fails: the wrapper is what
	// makes repeating it harmless.
	if err := insp.PauseQueue(taskqueue.QueueStandard); err == nil {
		t.Fatal("asynq accepted pausing a paused queue; the wrapper may no longer be needed")
	}
}
