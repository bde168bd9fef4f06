// Package recovery hands lost records back to the queue: records Postgres
// says are queued or in flight whose task the queue lost (Redis lost its
// data) or whose worker died. Every worker's feeder runs a round every few
// seconds; ops reconcile runs a sweep. It owns the one threshold of
// lost-task recovery (LostAfter).
package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// LostAfter is the one threshold of lost-task recovery, used by the feeder
// and by ops reconcile: a queued or in-flight record is lost when, for this
// long, it has not changed, no live worker holds its task, and the queue
// will not run its task. It exceeds the time after which asynq forgets a
// dead worker (its heartbeat expires after 10 s), so a live worker's record
// is never taken from it, and recovery after a crash or after Redis lost
// its data takes well under a minute.
const LostAfter = 20 * time.Second

// LostStore is what recovery needs from Postgres.
type LostStore interface {
	// ListOpen returns queued and in-flight records unchanged since olderThan.
	ListOpen(ctx context.Context, afterID int64, olderThan time.Time, n int) ([]store.OpenRecord, error)
	// RequeueLost closes the record's open attempts (possibly billed,
	// counted) and puts it back to queued, if it is unchanged.
	RequeueLost(ctx context.Context, r store.OpenRecord, newGeneration bool) (pipeline.TaskRef, int, bool, error)
}

// Recoverer hands lost records back to the queue. A record is suspected when
// no live asynq server lists its task as active; it is lost when it is still
// suspected, unchanged, LostAfter later, and its task is missing from Redis
// (Redis lost its data), archived, or active under a dead worker (its lease
// has not run out yet). A missing or archived task is enqueued again; a
// dead worker's record gets a new generation, so that its old task, when
// asynq's own recoverer hands it out, does nothing. Either way the attempt
// the dead worker left open is closed as possibly billed. A record is
// therefore never sent twice at once.
type Recoverer struct {
	Store     LostStore
	Enqueuer  *taskqueue.Enqueuer
	LostAfter time.Duration // default LostAfter
	Log       *slog.Logger
	Now       func() time.Time
	Observe   func(Stats) // after each round (metrics); optional
	// InWorker: this recoverer runs in a worker process whose asynq servers
	// heartbeat. A round then does nothing while they are not listed: the
	// listing is stale (this process, and likely the others, are starved),
	// and a live worker could look dead.
	InWorker bool

	suspects map[int64]suspect
}

type suspect struct {
	since   time.Time
	updated time.Time
	gen     int
}

// Stats count what a round found and did.
type Stats struct {
	Open           int `json:"open"`            // queued or in-flight records unchanged for LostAfter
	Lost           int `json:"lost"`            // of which were lost and handed back
	NewGeneration  int `json:"new_generation"`  // of which had been held by a dead worker
	AttemptsClosed int `json:"attempts_closed"` // attempts closed as abandoned, possibly billed
}

func (r *Recoverer) defaults() {
	if r.LostAfter == 0 {
		r.LostAfter = LostAfter
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.suspects == nil {
		r.suspects = map[int64]suspect{}
	}
}

// Round looks at every open record once and hands back those suspected for
// LostAfter. Call it every few seconds (the feeder does).
func (r *Recoverer) Round(ctx context.Context) (Stats, error) {
	r.defaults()
	var s Stats
	held, self, err := r.heldTasks()
	if err != nil {
		return s, err
	}
	if r.InWorker && !self {
		r.Log.Warn("lost-task recovery skipped: this worker's own heartbeat is not listed in Redis yet")
		return s, nil
	}
	now := r.Now()
	seen := map[int64]bool{}
	var after int64
	for {
		recs, err := r.Store.ListOpen(ctx, after, now.Add(-r.LostAfter), 500)
		if err != nil {
			return s, err
		}
		for _, rec := range recs {
			after = rec.Ref.RecordID
			s.Open++
			seen[rec.Ref.RecordID] = true
			if err := r.check(ctx, rec, held, now, &s); err != nil {
				return s, err
			}
		}
		if len(recs) < 500 {
			break
		}
	}
	for id := range r.suspects {
		if !seen[id] {
			delete(r.suspects, id)
		}
	}
	if r.Observe != nil {
		r.Observe(s)
	}
	if s.Lost > 0 {
		r.Log.Warn("handed lost records back to the queue", "lost", s.Lost, "new_generation", s.NewGeneration,
			"attempts_closed_possibly_billed", s.AttemptsClosed)
	}
	return s, nil
}

// Sweep is a one-off recovery (ops reconcile): a round, and when records
// are suspected, another one LostAfter later.
func (r *Recoverer) Sweep(ctx context.Context) (Stats, error) {
	s, err := r.Round(ctx)
	if err != nil || len(r.suspects) == 0 {
		return s, err
	}
	t := time.NewTimer(r.LostAfter + time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return s, ctx.Err()
	case <-t.C:
	}
	return r.Round(ctx)
}

func (r *Recoverer) check(ctx context.Context, rec store.OpenRecord, held map[string]bool, now time.Time, s *Stats) error {
	id := rec.Ref.RecordID
	if held[rec.Ref.TaskID()] {
		delete(r.suspects, id)
		return nil
	}
	sus, ok := r.suspects[id]
	if !ok || sus.gen != rec.Ref.Generation || !sus.updated.Equal(rec.UpdatedAt) {
		r.suspects[id] = suspect{since: now, updated: rec.UpdatedAt, gen: rec.Ref.Generation}
		return nil
	}
	if now.Sub(sus.since) < r.LostAfter {
		return nil
	}
	newGen, lost, err := r.taskLost(rec.Ref)
	if err != nil || !lost {
		// The queue will run it: look again in LostAfter.
		r.suspects[id] = suspect{since: now, updated: rec.UpdatedAt, gen: rec.Ref.Generation}
		return err
	}
	if !newGen {
		// The task is missing (or archived): enqueue it again first. A
		// conflict means it is there after all (asynq had lost track of the
		// queue only); a worker that takes the new task at once closes the
		// open attempt itself, and RequeueLost then changes nothing.
		added, err := r.Enqueuer.Enqueue(ctx, rec.Ref)
		if err != nil || !added {
			return err
		}
	}
	ref, closed, ok, err := r.Store.RequeueLost(ctx, rec, newGen)
	if err != nil {
		return err
	}
	r.Log.Info("lost record handed back", "record", id, "generation", rec.Ref.Generation, "status", rec.Status,
		"unchanged_since", rec.UpdatedAt, "new_generation", newGen && ok, "attempts_closed", closed)
	delete(r.suspects, id)
	if newGen && ok {
		if _, err := r.Enqueuer.Enqueue(ctx, ref); err != nil {
			return fmt.Errorf("recover record %d: %w", id, err)
		}
	}
	s.Lost++
	s.AttemptsClosed += closed
	if newGen && ok {
		s.NewGeneration++
	}
	return nil
}

// taskLost says whether the queue will never run ref's task by itself
// (missing, archived) or only after the dead holder's lease expires
// (active, completed: a new generation is needed).
func (r *Recoverer) taskLost(ref pipeline.TaskRef) (newGeneration, lost bool, err error) {
	info, err := r.Enqueuer.Inspector.GetTaskInfo(taskqueue.QueueFor(ref), ref.TaskID())
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		return false, true, nil
	case errors.Is(err, asynq.ErrQueueNotFound):
		// Redis lost its data: asynq's client registers a queue once per
		// client, so start a fresh one that registers it again.
		r.Enqueuer.Reset()
		return false, true, nil
	case err != nil:
		return false, false, fmt.Errorf("recovery: task %s: %w", ref.TaskID(), err)
	}
	switch info.State {
	case asynq.TaskStateArchived:
		return false, true, nil
	case asynq.TaskStateActive, asynq.TaskStateCompleted:
		return true, true, nil
	}
	return false, false, nil // pending, scheduled, retry: it will run
}

// heldTasks lists the tasks live asynq servers are running (asynq's server
// heartbeat, public through Inspector.Servers).
// It also says whether this process's own servers are listed.
func (r *Recoverer) heldTasks() (held map[string]bool, self bool, err error) {
	servers, err := r.Enqueuer.Inspector.Servers()
	if err != nil {
		return nil, false, fmt.Errorf("recovery: list live workers: %w", err)
	}
	host, _ := os.Hostname()
	held = map[string]bool{}
	for _, s := range servers {
		if s.PID == os.Getpid() && s.Host == host {
			self = true
		}
		for _, w := range s.ActiveWorkers {
			held[w.TaskID] = true
		}
	}
	return held, self, nil
}
