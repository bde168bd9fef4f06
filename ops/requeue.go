package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// RequeueOptions select and re-queue records (see store.Requeue).
type RequeueOptions struct {
	Filter   store.RequeueFilter
	DryRun   bool
	Force    bool   // re-queue records with a verdict too: a new paid verification
	Reason   string // required with Force; stored in the audit log
	Operator string
	Sample   int            // rows to show (default 20)
	Args     map[string]any // the command line as given, for the audit log
	Progress io.Writer      // where a progress bar is drawn; nil for none
	Chunk    int            // records per transaction (default 1000)
	// With Force: at most MaxForced records with a verdict are sent again
	// (0: DefaultMaxForced); their count and cost at Price are written to
	// Notice before anything changes.
	MaxForced int
	Price     Price
	Notice    io.Writer

	forcedEstimate int
}

// Requeue re-queues the selected records (or, dry run, only reports what it
// would do) and writes the audit row in the same transaction.
func Requeue(ctx context.Context, st *store.Store, o RequeueOptions) (store.RequeueResult, error) {
	if o.Force && strings.TrimSpace(o.Reason) == "" {
		return store.RequeueResult{}, errors.New("requeue: -force needs -reason \"why this paid re-verification is needed\"")
	}
	if o.Force && !o.DryRun {
		if err := checkForced(ctx, st, &o); err != nil {
			return store.RequeueResult{}, err
		}
	}
	for _, s := range o.Filter.Statuses {
		if !slices.Contains(pipeline.StatusDisplayOrder, s) {
			return store.RequeueResult{}, fmt.Errorf("requeue: unknown status %q", s)
		}
	}
	args := o.Args
	if args == nil {
		args = requeueArgs(o)
	}
	if o.Force && !o.DryRun {
		args = maps.Clone(args)
		args["forced_estimate"], args["cost"] = o.forcedEstimate, o.Price.Cost(o.forcedEstimate)
	}
	a := &store.AuditEntry{Operator: o.Operator, Command: "requeue", Args: args, BatchID: o.Filter.BatchID}
	so := store.RequeueOptions{DryRun: o.DryRun, Force: o.Force, Reason: o.Reason, Sample: o.Sample, Chunk: o.Chunk}
	if o.Progress != nil {
		bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("records checked"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		so.Progress = func(r store.RequeueResult) {
			_ = bar.Set(r.Selected)
			bar.Describe(fmt.Sprintf("records checked (%d re-queued)", r.Requeued))
		}
	}
	return st.Requeue(ctx, o.Filter, so, a)
}

func requeueArgs(o RequeueOptions) map[string]any {
	f := o.Filter
	m := map[string]any{"force": o.Force}
	if f.BatchID != 0 {
		m["batch"] = f.BatchID
	}
	if len(f.Statuses) > 0 {
		m["status"] = f.Statuses
	}
	if len(f.Codes) > 0 {
		m["code"] = f.Codes
	}
	if !f.Since.IsZero() {
		m["since"] = f.Since
	}
	if len(f.IDs) > 0 {
		m["ids"] = len(f.IDs)
	}
	return m
}

// PrintRequeue writes what a requeue did (or would do): counts and the first
// rows (id, ref, status, code — never personal data), refs and codes
// escaped for the terminal (sink.Terminal).
func PrintRequeue(w io.Writer, r store.RequeueResult, dryRun bool) {
	verb := "re-queued"
	if dryRun {
		verb = "would re-queue"
	}
	fmt.Fprintf(w, "selected %d records; %s %d", r.Selected, verb, r.Requeued)
	if r.SkippedOpen > 0 {
		fmt.Fprintf(w, "; skipped %d already on their way (pending/queued/in_flight)", r.SkippedOpen)
	}
	if r.SkippedPurged > 0 {
		fmt.Fprintf(w, "; skipped %d whose personal data was purged or erased", r.SkippedPurged)
	}
	if r.SkippedVerdict > 0 {
		fmt.Fprintf(w, "; skipped %d with a verdict (-force -reason to re-verify, paid)", r.SkippedVerdict)
	}
	fmt.Fprintln(w)
	if r.Forced > 0 {
		fmt.Fprintf(w, "forced re-verification of %d records with a verdict (recorded in the audit log)\n", r.Forced)
	}
	for _, k := range slices.Sorted(maps.Keys(r.ByCode)) {
		code := k
		if code == "" {
			code = "(no code)"
		}
		fmt.Fprintf(w, "  %-24s %d\n", sink.Terminal(code), r.ByCode[k])
	}
	if len(r.Sample) == 0 {
		return
	}
	fmt.Fprintf(w, "%-10s %-28s %-10s %-20s %s\n", "id", "ref", "status", "code", "")
	for _, s := range r.Sample {
		action := verb
		if !s.Requeued {
			action = "skipped: " + s.SkipCause
		}
		fmt.Fprintf(w, "%-10d %-28s %-10s %-20s %s\n", s.ID, trunc(sink.Terminal(s.Ref), 28), s.Status, sink.Terminal(s.Code), action)
	}
	if r.Selected > len(r.Sample) {
		fmt.Fprintf(w, "… %d more\n", r.Selected-len(r.Sample))
	}
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
