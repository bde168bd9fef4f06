package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ParseBatchState reads a -state flag ("" for any).
func ParseBatchState(s string) (pipeline.BatchState, error) {
	st := pipeline.BatchState(strings.TrimSpace(s))
	if st == "" || slices.Contains(pipeline.BatchStates, st) {
		return st, nil
	}
	return "", fmt.Errorf("-state %q: want one of open, finished, paused, cancelled", s)
}

// Batches lists the batches f selects, newest first. It first stores as
// finished the batches whose last records finished (workers do it every few
// seconds; ops does it too, for when none runs); when that cannot be written
// (a read-only role or a replica) it says so on warn and lists anyway.
func Batches(ctx context.Context, st *store.Store, f store.BatchFilter, warn io.Writer) ([]store.BatchSummary, error) {
	if _, err := st.SettleBatches(ctx); err != nil && warn != nil {
		fmt.Fprintf(warn, "ops batches: finish times not updated (%v); listing anyway\n", err)
	}
	return st.ListBatches(ctx, f)
}

// PrintBatches writes one line per batch: id, state, created and finished
// times (in loc), records by status, and the name (escaped for the
// terminal: it comes from the manifest's submitter).
func PrintBatches(w io.Writer, list []store.BatchSummary, loc *time.Location) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no batches")
		return
	}
	fmt.Fprintf(w, "%-6s %-9s %-20s %-20s %8s  %-40s %s\n", "batch", "state", "created", "finished", "records", "by status", "name")
	for _, b := range list {
		finished := "-"
		if b.FinishedAt != nil {
			finished = b.FinishedAt.In(loc).Format("2006-01-02 15:04:05")
		}
		var by []string
		for _, s := range pipeline.StatusDisplayOrder {
			if n := b.Counts.ByStatus[s]; n > 0 {
				by = append(by, fmt.Sprintf("%s %d", s, n))
			}
		}
		fmt.Fprintf(w, "%-6d %-9s %-20s %-20s %8d  %-40s %s\n", b.ID, b.State, b.CreatedAt.In(loc).Format("2006-01-02 15:04:05"),
			finished, b.Counts.Total, strings.Join(by, ", "), sink.Terminal(b.Name))
	}
}

// BatchAction is ops pause, resume or cancel.
type BatchAction string

// The batch actions.
const (
	ActionPause  BatchAction = "pause"
	ActionResume BatchAction = "resume"
	ActionCancel BatchAction = "cancel"
)

// ChangeBatch pauses, resumes or cancels a batch, audited (who, why) in the
// same transaction. A change the batch's state does not allow is an error
// that says its state.
func ChangeBatch(ctx context.Context, st *store.Store, action BatchAction, batchID int64, reason, operator string) (store.BatchChange, error) {
	a := store.AuditEntry{Operator: operator, Command: "batch-" + string(action), Reason: reason,
		Args: map[string]any{"batch": batchID}}
	var (
		c   store.BatchChange
		err error
	)
	switch action {
	case ActionPause:
		c, err = st.PauseBatch(ctx, batchID, a)
	case ActionResume:
		c, err = st.ResumeBatch(ctx, batchID, a)
	case ActionCancel:
		if strings.TrimSpace(reason) == "" {
			return c, errors.New("cancel: -reason is required (stored in the audit log)")
		}
		c, err = st.CancelBatch(ctx, batchID, a)
	default:
		return c, fmt.Errorf("unknown batch action %q", action)
	}
	return c, err
}

// PrintBatchChange says what a pause, resume or cancel did.
func PrintBatchChange(w io.Writer, action BatchAction, c store.BatchChange) {
	fmt.Fprintf(w, "batch %d: %s → %s\n", c.BatchID, c.From, c.To)
	switch action {
	case ActionPause:
		fmt.Fprintf(w, "%d pending or queued records held (not sent until: ops resume -batch %d); records in flight finish\n",
			c.Records, c.BatchID)
	case ActionCancel:
		fmt.Fprintf(w, "%d records not sent, now failed %s (undo: ops resume -batch %d); records in flight finish\n",
			c.Records, pipeline.CodeBatchCancelled, c.BatchID)
	case ActionResume:
		fmt.Fprintf(w, "%d records back to pending; workers send them\n", c.Records)
	}
}
