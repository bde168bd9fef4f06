package ops

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// DefaultLease is how long an attempt may stay in flight before Reconcile
// reports it as possibly billed.
const DefaultLease = 10 * time.Minute

// ReconcileOptions configure Reconcile. Zero values take defaults.
type ReconcileOptions struct {
	// LostAfter is lost-task recovery's threshold (default and in
	// production worker.LostAfter, the one the feeders use; tests shorten it).
	LostAfter time.Duration
	// Lease: attempts in_flight this long are reported as possibly billed
	// (default 10m; at least the workers' task timeout).
	Lease time.Duration
	// Since: failed records and possibly billed attempts after this time need
	// a human (default: the previous run's start, or 24 h ago).
	Since       time.Time
	TaskTimeout time.Duration // the workers' task timeout (default worker.DefaultTaskTimeout)
	Operator    string
	Sample      int // stale attempts listed (default 20)
}

// StaleAttemptInfo is a possibly billed attempt found by Reconcile.
type StaleAttemptInfo struct {
	AttemptID    int64     `json:"attempt_id"`
	RecordID     int64     `json:"record_id"`
	BatchID      int64     `json:"batch_id"`
	UUID         string    `json:"uuid"`
	StartedAt    time.Time `json:"started_at"`
	RecordStatus string    `json:"record_status"`
	Closed       bool      `json:"closed"` // marked abandoned + possibly billed now; else the next claim does it
}

// ReconcileSummary is what one run found and repaired. It is stored as the
// run's jsonb summary in reconcile_runs.
type ReconcileSummary struct {
	RunID     int64     `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	Since     time.Time `json:"since"`
	Lease     string    `json:"lease"`
	// (a) lost-task recovery, the feeders' own (worker.Recoverer).
	Lost worker.RecoverStats `json:"lost"`
	// (b) attempts in_flight longer than Lease: possibly billed.
	StaleAttempts       int                `json:"stale_attempts"`
	StaleAttemptsClosed int                `json:"stale_attempts_closed"`
	StaleAttemptSample  []StaleAttemptInfo `json:"stale_attempt_sample,omitempty"`
	// (c) account pause and the batches it holds.
	Paused      bool              `json:"paused"`
	PauseCode   string            `json:"pause_code,omitempty"`
	PauseReason string            `json:"pause_reason,omitempty"`
	HeldBatches []store.OpenBatch `json:"held_batches,omitempty"`
	// Since the previous run.
	FailedSince         map[string]int `json:"failed_since"`
	PossiblyBilledSince int            `json:"possibly_billed_since"`
	// (e) batches whose budget_used differed from their attempts (corrected).
	BudgetDrift []store.BudgetDrift `json:"budget_drift,omitempty"`
	// NeedsHuman is true when any Reasons exist (exit code 3).
	NeedsHuman bool     `json:"needs_human"`
	Reasons    []string `json:"reasons,omitempty"`
}

// Reconcile finds and repairs what can go wrong between Postgres (the record
// of truth) and the queue; it is idempotent and safe while workers run
// (enqueuing uses task ids, closing attempts is conditional):
//
//	(a) queued and in-flight records the queue lost or whose worker died →
//	    handed back to the queue by worker.Recoverer, the path and threshold
//	    (worker.LostAfter) the feeders use every few seconds;
//	(b) attempts in_flight for longer than Lease: possibly billed calls; closed as
//	    abandoned + possibly billed when their record is no longer in_flight
//	    (otherwise the record's next claim closes and counts them);
//	(c) an account pause, with the batches whose open records it holds.
//
// A human is needed (NeedsHuman, exit 3) when the account is paused, when
// stale in-flight attempts were found, when attempts were marked possibly
// billed since the previous run (the invoice may hold calls no verdict
// shows), or when records failed since the previous run (budget.exhausted
// included: raise the budget and requeue). The summary is stored in
// reconcile_runs with an audit row.
func Reconcile(ctx context.Context, st *store.Store, rdb redis.UniversalClient, o ReconcileOptions) (ReconcileSummary, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.TaskTimeout <= 0 {
		o.TaskTimeout = worker.DefaultTaskTimeout
	}
	if o.Sample == 0 {
		o.Sample = 20
	}
	now := time.Now()
	s := ReconcileSummary{StartedAt: now, Lease: o.Lease.String()}
	if o.Since.IsZero() {
		last, _, ok, err := st.LatestReconcile(ctx)
		if err != nil {
			return s, err
		}
		o.Since = now.Add(-24 * time.Hour)
		if ok {
			o.Since = last
		}
	}
	s.Since = o.Since

	rec := &worker.Recoverer{Store: st, Enqueuer: worker.NewEnqueuer(rdb, o.TaskTimeout), LostAfter: o.LostAfter}
	var err error
	if s.Lost, err = rec.Sweep(ctx); err != nil {
		return s, err
	}

	stale, err := st.CloseStaleAttempts(ctx, now.Add(-o.Lease), false)
	if err != nil {
		return s, err
	}
	s.StaleAttempts = len(stale)
	for _, a := range stale {
		if a.Closed {
			s.StaleAttemptsClosed++
		}
		if len(s.StaleAttemptSample) < o.Sample {
			s.StaleAttemptSample = append(s.StaleAttemptSample, StaleAttemptInfo{AttemptID: a.ID, RecordID: a.RecordID,
				BatchID: a.BatchID, UUID: a.UUID, StartedAt: a.StartedAt, RecordStatus: string(a.RecordStatus), Closed: a.Closed})
		}
	}

	var paused bool
	if s.PauseCode, s.PauseReason, paused, err = st.Paused(ctx); err != nil {
		return s, err
	}
	s.Paused = paused
	if paused {
		if s.HeldBatches, err = st.OpenBatches(ctx); err != nil {
			return s, err
		}
	}
	if s.FailedSince, err = st.FailedSince(ctx, o.Since); err != nil {
		return s, err
	}
	if s.PossiblyBilledSince, err = st.PossiblyBilledSince(ctx, o.Since); err != nil {
		return s, err
	}
	if s.BudgetDrift, err = st.RecomputeBudgets(ctx); err != nil {
		return s, err
	}
	if len(s.BudgetDrift) > 0 {
		s.Reasons = append(s.Reasons, fmt.Sprintf("budget use of %d batches drifted from their attempts; corrected: %+v",
			len(s.BudgetDrift), s.BudgetDrift))
	}

	if paused {
		s.Reasons = append(s.Reasons, fmt.Sprintf("account paused (%s: %s): %d batches held; resolve, then `worker resume`",
			s.PauseCode, s.PauseReason, len(s.HeldBatches)))
	}
	if s.StaleAttempts > 0 {
		s.Reasons = append(s.Reasons, fmt.Sprintf("%d attempts in flight for longer than %s: possibly billed, check the invoice",
			s.StaleAttempts, o.Lease))
	}
	if s.PossiblyBilledSince > 0 {
		s.Reasons = append(s.Reasons, fmt.Sprintf("%d attempts marked possibly billed since %s", s.PossiblyBilledSince,
			o.Since.Format(time.RFC3339)))
	}
	if n := sum(s.FailedSince); n > 0 {
		s.Reasons = append(s.Reasons, fmt.Sprintf("%d records failed since %s (ops requeue -code … once the cause is fixed)",
			n, o.Since.Format(time.RFC3339)))
	}
	s.NeedsHuman = len(s.Reasons) > 0

	a := &store.AuditEntry{Operator: o.Operator, Command: "reconcile",
		Args: map[string]any{"lease": o.Lease.String(), "since": o.Since},
		Result: map[string]any{"lost": s.Lost.Lost, "new_generation": s.Lost.NewGeneration,
			"stale_attempts": s.StaleAttempts, "stale_attempts_closed": s.StaleAttemptsClosed, "paused": s.Paused}}
	if s.RunID, err = st.SaveReconcile(ctx, now, s.NeedsHuman, s, a); err != nil {
		return s, err
	}
	return s, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// PrintReconcile writes the summary for an operator.
func PrintReconcile(w io.Writer, s ReconcileSummary) {
	fmt.Fprintf(w, "reconcile run %d at %s (lease %s; since %s)\n", s.RunID, s.StartedAt.Format(time.RFC3339),
		s.Lease, s.Since.Format(time.RFC3339))
	fmt.Fprintf(w, "  open records unchanged for %s: %d; handed back to the queue (task lost or worker dead): %d (new generation: %d, attempts closed as possibly billed: %d)\n",
		worker.LostAfter, s.Lost.Open, s.Lost.Lost, s.Lost.NewGeneration, s.Lost.AttemptsClosed)
	fmt.Fprintf(w, "  attempts in flight beyond lease (possibly billed): %d, closed now: %d\n", s.StaleAttempts, s.StaleAttemptsClosed)
	for _, a := range s.StaleAttemptSample {
		state := "left for the next claim"
		if a.Closed {
			state = "closed as abandoned"
		}
		fmt.Fprintf(w, "    attempt %d record %d batch %d uuid %s started %s (record %s) — %s\n", a.AttemptID, a.RecordID,
			a.BatchID, a.UUID, a.StartedAt.Format(time.RFC3339), a.RecordStatus, state)
	}
	if s.Paused {
		fmt.Fprintf(w, "  ACCOUNT PAUSED: %s: %s\n", s.PauseCode, s.PauseReason)
		for _, b := range s.HeldBatches {
			fmt.Fprintf(w, "    batch %d %q: %d open records held\n", b.BatchID, b.Name, b.Open)
		}
	}
	if len(s.FailedSince) > 0 {
		fmt.Fprintln(w, "  failed since the previous run:")
		for _, k := range slices.Sorted(maps.Keys(s.FailedSince)) {
			fmt.Fprintf(w, "    %-24s %d\n", k, s.FailedSince[k])
		}
	}
	fmt.Fprintf(w, "  attempts marked possibly billed since the previous run: %d\n", s.PossiblyBilledSince)
	if s.NeedsHuman {
		fmt.Fprintln(w, "NEEDS A HUMAN:")
		for _, r := range s.Reasons {
			fmt.Fprintln(w, "  - "+r)
		}
	} else {
		fmt.Fprintln(w, "nothing needs a human")
	}
}
