package ops

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// QueueState is one asynq queue's task counts by state.
type QueueState struct {
	Name                                        string
	Exists                                      bool // false until something was enqueued
	Pending, Active, Scheduled, Retry, Archived int
	Paused                                      bool
}

// BatchReport is one batch's status and budget.
type BatchReport struct {
	store.BatchStatus
	Budget store.Budget
	Reused int // records answered by reusing the verdict of identical inputs (no call)
	// Decisions counts the batch's records by their latest review decision.
	Decisions map[pipeline.ReviewDecision]int
}

// StatusReport is what ops status shows.
type StatusReport struct {
	Queues      []QueueState // one per IVS endpoint
	Paused      bool         // account-wide pause stored in Postgres
	PauseCode   string
	PauseReason string
	Batches     []BatchReport
}

// Status gathers the queue state, the account pause and, for batchID (0: every
// batch with open records), each batch's status and budget.
func Status(ctx context.Context, st *store.Store, rdb redis.UniversalClient, batchID int64) (StatusReport, error) {
	var r StatusReport
	var err error
	for _, q := range taskqueue.Queues {
		qs, err := queueState(rdb, q)
		if err != nil {
			return r, err
		}
		r.Queues = append(r.Queues, qs)
	}
	if r.PauseCode, r.PauseReason, r.Paused, err = st.Paused(ctx); err != nil {
		return r, err
	}
	var ids []int64
	if batchID != 0 {
		ids = []int64{batchID}
	} else {
		open, err := st.OpenBatches(ctx)
		if err != nil {
			return r, err
		}
		for _, b := range open {
			ids = append(ids, b.BatchID)
		}
	}
	for _, id := range ids {
		b, err := BatchStatus(ctx, st, id)
		if err != nil {
			return r, err
		}
		r.Batches = append(r.Batches, b)
	}
	return r, nil
}

// BatchStatus is one batch's status and budget (pipeline.ErrNotFound when
// there is no such batch): what Status shows per batch, and the API's
// batch status.
func BatchStatus(ctx context.Context, st *store.Store, batchID int64) (BatchReport, error) {
	bs, err := st.GetBatchStatus(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	bud, err := st.GetBudget(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	reused, err := st.ReusedCount(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	decisions, err := st.BatchDecisionCounts(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	return BatchReport{BatchStatus: bs, Budget: bud, Reused: reused, Decisions: decisions}, nil
}

// BatchProgress is BatchStatus without what grows with the batch: the
// budget's cap and slots used but not the billed and possibly billed
// attempt counts, and no count of reused verdicts (Reused is -1). Its cost
// does not depend on the batch's size, for the API's status under load.
func BatchProgress(ctx context.Context, st *store.Store, batchID int64) (BatchReport, error) {
	bs, err := st.GetBatchStatus(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	bud, err := st.BudgetUse(ctx, batchID)
	if err != nil {
		return BatchReport{}, err
	}
	return BatchReport{BatchStatus: bs, Budget: bud, Reused: -1}, nil
}

func queueState(rdb redis.UniversalClient, name string) (QueueState, error) {
	insp := asynq.NewInspectorFromRedisClient(rdb)
	queues, err := insp.Queues()
	if err != nil {
		return QueueState{}, fmt.Errorf("queue: %w", err)
	}
	if !slices.Contains(queues, name) {
		return QueueState{Name: name}, nil
	}
	info, err := insp.GetQueueInfo(name)
	if err != nil {
		return QueueState{}, fmt.Errorf("queue %s: %w", name, err)
	}
	return QueueState{Name: name, Exists: true, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
		Retry: info.Retry, Archived: info.Archived, Paused: info.Paused}, nil
}

// PrintStatus writes r for an operator. Text from outside (batch names,
// codes and reasons from IVS) is escaped for the terminal (sink.Terminal).
func PrintStatus(w io.Writer, r StatusReport) {
	for _, q := range r.Queues {
		state := "running"
		if q.Paused {
			state = "PAUSED"
		}
		if !q.Exists {
			fmt.Fprintf(w, "queue %q: empty (nothing enqueued yet)\n", q.Name)
		} else {
			fmt.Fprintf(w, "queue %q %s: pending %d, active %d, scheduled %d, retry %d, archived %d\n", q.Name, state,
				q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived)
		}
	}
	if r.Paused {
		fmt.Fprintf(w, "account PAUSED: %s: %s (`worker resume` when resolved)\n", sink.Terminal(r.PauseCode), sink.Terminal(r.PauseReason))
	} else {
		fmt.Fprintln(w, "account: not paused")
	}
	if len(r.Batches) == 0 {
		fmt.Fprintln(w, "no open batches (ops batches lists them all: ops batches -since 24h)")
	}
	for _, b := range r.Batches {
		fmt.Fprintf(w, "\nbatch %d \"%s\" (%s), %d records, %d open\n", b.Batch.ID, sink.Terminal(b.Batch.Name),
			b.Batch.CreatedAt.Format(time.RFC3339), b.Counts.Total, b.Counts.Open())
		fmt.Fprint(w, "  by status:")
		for _, s := range pipeline.StatusDisplayOrder {
			if n := b.Counts.ByStatus[s]; n > 0 {
				fmt.Fprintf(w, " %s %d", s, n)
			}
		}
		fmt.Fprintln(w)
		printCounts(w, "by verdict:", b.VerdictCounts())
		if b.Reused > 0 {
			fmt.Fprintf(w, "  answered by reuse of identical inputs (no call): %d\n", b.Reused)
		}
		printCounts(w, "by error code (no verdict):", b.ByError)
		if len(b.Decisions) > 0 {
			fmt.Fprint(w, "  review decisions:")
			for _, d := range pipeline.ReviewDecisions {
				if n := b.Decisions[d]; n > 0 {
					fmt.Fprintf(w, " %s %d", d, n)
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "  rate: %.2f records/s (the batch's own calls, last minute)", b.Rate())
		if eta := b.ETA(); eta > 0 {
			fmt.Fprintf(w, ", ETA %s", eta.Round(time.Second))
		} else if b.Counts.Open() > 0 {
			fmt.Fprint(w, ", no ETA yet (no record of this batch finished by a call in the last minute)")
		}
		fmt.Fprintln(w)
		cap := "no cap"
		if b.Budget.MaxBilled > 0 {
			cap = fmt.Sprintf("cap %d", b.Budget.MaxBilled)
		}
		fmt.Fprintf(w, "  budget: %s, %d slots used; %d billed, %d possibly billed attempts\n", cap, b.Budget.Used,
			b.Budget.Billed, b.Budget.Possibly)
	}
}

func printCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, "  "+title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "    %-24s %d\n", sink.Terminal(k), m[k])
	}
}
