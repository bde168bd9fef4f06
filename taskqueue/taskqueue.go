// Package taskqueue is the queue of records on asynq: the queues (one per
// IVS endpoint), the task type and its payload, and the Enqueuer that puts
// tasks on them. The worker's feeder and lost-task recovery enqueue through
// it; it runs nothing.
package taskqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// The queues and the task type. There is one queue per IVS endpoint, each
// served by its own pool of handlers, so that records waiting for one
// endpoint's quota never hold up the other's. A task's payload is a
// pipeline.TaskRef and its id is derived from it, so enqueuing the same
// record generation twice is harmless.
const (
	QueueStandard  = "ivs-standard"
	QueueExtention = "ivs-extention"
	TaskType       = "ivs:verify"
)

// Queues lists the queues, standard first.
var Queues = []string{QueueStandard, QueueExtention}

// Endpoints lists the endpoints in the order of Queues.
var Endpoints = []ivs.Endpoint{ivs.EndpointStandard, ivs.EndpointExtention}

// QueueOf returns the queue of endpoint ep.
func QueueOf(ep ivs.Endpoint) string {
	if ep == ivs.EndpointExtention {
		return QueueExtention
	}
	return QueueStandard
}

// EndpointOf returns the endpoint of queue q (one of Queues).
func EndpointOf(q string) ivs.Endpoint { return Endpoints[slices.Index(Queues, q)] }

// QueueFor returns the queue of ref's record (its shape's endpoint).
func QueueFor(ref pipeline.TaskRef) string { return QueueOf(ref.Shape.Endpoint()) }

// DefaultMaxRetry is a task's asynq MaxRetry. It counts only failures
// (throttling and pauses are not failures), and attempts at IVS are capped
// in Postgres well before it.
const DefaultMaxRetry = 25

// NewTask returns the asynq task for ref, which never runs longer than
// timeout (default pipeline.DefaultTaskTimeout, the worst case of one
// record; asynq's own default is 30 minutes).
func NewTask(ref pipeline.TaskRef, timeout time.Duration) (*asynq.Task, error) {
	payload, err := json.Marshal(ref)
	if err != nil {
		return nil, fmt.Errorf("taskqueue: encode task: %w", err)
	}
	if timeout == 0 {
		timeout = pipeline.DefaultTaskTimeout
	}
	return asynq.NewTask(TaskType, payload, asynq.TaskID(ref.TaskID()), asynq.Queue(QueueFor(ref)),
		asynq.MaxRetry(DefaultMaxRetry), asynq.Timeout(timeout)), nil
}

// ParseTask reads the TaskRef of t.
func ParseTask(t *asynq.Task) (pipeline.TaskRef, error) {
	var ref pipeline.TaskRef
	if err := json.Unmarshal(t.Payload(), &ref); err != nil {
		return ref, fmt.Errorf("taskqueue: decode task payload: %w", err)
	}
	if ref.RecordID <= 0 || ref.Generation <= 0 {
		return ref, fmt.Errorf("taskqueue: task payload without record id or generation")
	}
	return ref, nil
}

// Enqueuer puts task refs on the queue.
type Enqueuer struct {
	Client      *asynq.Client
	Inspector   *asynq.Inspector
	Redis       redis.UniversalClient // the client asynq uses; lets the enqueuer start a fresh asynq client
	TaskTimeout time.Duration

	mu sync.Mutex
}

// NewEnqueuer returns an enqueuer on rdb.
func NewEnqueuer(rdb redis.UniversalClient, taskTimeout time.Duration) *Enqueuer {
	return &Enqueuer{Client: asynq.NewClientFromRedisClient(rdb), Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Redis: rdb, TaskTimeout: taskTimeout}
}

func (e *Enqueuer) client() *asynq.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Client
}

// Reset starts a fresh asynq client on the same Redis connection. asynq's
// client registers a queue in its list of queues once per client; after
// Redis lost its data, a fresh client registers the queues again with its
// next enqueue, through asynq's own code (the inspector, asynqmon and queue
// sizes see the tasks again).
func (e *Enqueuer) Reset() {
	if e.Redis == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Client = asynq.NewClientFromRedisClient(e.Redis)
}

// Enqueue adds ref's task. A task with the same id already in the queue is
// left alone (added = false), except an archived one (asynq gave up on it):
// that one is replaced, because Postgres says the record still needs it.
func (e *Enqueuer) Enqueue(ctx context.Context, ref pipeline.TaskRef) (added bool, err error) {
	task, err := NewTask(ref, e.TaskTimeout)
	if err != nil {
		return false, err
	}
	_, err = e.client().EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		info, ierr := e.Inspector.GetTaskInfo(QueueFor(ref), ref.TaskID())
		if ierr != nil || info.State != asynq.TaskStateArchived {
			return false, nil
		}
		if derr := e.Inspector.DeleteTask(QueueFor(ref), ref.TaskID()); derr != nil {
			return false, fmt.Errorf("taskqueue: replace archived task %s: %w", ref.TaskID(), derr)
		}
		_, err = e.client().EnqueueContext(ctx, task)
	}
	if err != nil {
		return false, fmt.Errorf("taskqueue: enqueue %s: %w", ref.TaskID(), err)
	}
	return true, nil
}

// QueueSize is the number of tasks waiting in queue: ready, scheduled or
// to be retried, not those the handlers are running (a window that counted
// them would be filled by the handlers alone when they outnumber it, and
// they would wait for the feeder's next tick). A queue
// asynq does not list (nothing enqueued yet, or Redis lost its data) has
// size 0 as far as asynq can tell; the enqueuer then starts a fresh asynq
// client so that its next enqueue registers the queue again.
func (e *Enqueuer) QueueSize(queue string) (int, error) {
	// GetQueueInfo reports an unknown queue without asynq.ErrQueueNotFound;
	// the list of queues says it.
	queues, err := e.Inspector.Queues()
	if err != nil {
		return 0, fmt.Errorf("taskqueue: list queues: %w", err)
	}
	if !slices.Contains(queues, queue) {
		e.Reset()
		return 0, nil
	}
	info, err := e.Inspector.GetQueueInfo(queue)
	if err != nil {
		return 0, fmt.Errorf("taskqueue: queue info: %w", err)
	}
	return info.Pending + info.Scheduled + info.Retry, nil
}
