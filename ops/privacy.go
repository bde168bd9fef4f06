package ops

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
)

// FaceFilingThreshold is the number of people whose face data, once held,
// obliges the holder to file with the authorities (the face-recognition
// measures in force since June 2025).
const FaceFilingThreshold = 100_000

// PrivacyRegister is the register of processing for a period: who was
// verified, whose face is held now against the filing threshold, the
// retention in force and the latest purge.
type PrivacyRegister struct {
	From, To  time.Time
	Counts    store.ProcessingCounts
	Policy    retention.Policy
	LastPurge store.PurgeRun
	Purged    bool // a purge ran at all
}

// Privacy gathers the register for outcomes in [from, to).
func Privacy(ctx context.Context, st *store.Store, policy retention.Policy, from, to time.Time) (PrivacyRegister, error) {
	r := PrivacyRegister{From: from, To: to, Policy: policy}
	var err error
	if r.Counts, err = st.ProcessingCounts(ctx, from, to); err != nil {
		return r, err
	}
	r.LastPurge, r.Purged, err = st.LatestPurge(ctx)
	return r, err
}

// Write prints the register (counts only, no personal data).
func (r PrivacyRegister) Write(w io.Writer) {
	fmt.Fprintf(w, "register of processing, outcomes from %s to %s\n", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  verified (with an IVS verdict), by shape: records, people\n")
	records, people := 0, 0
	for _, s := range slices.Sorted(func(yield func(pipeline.Shape) bool) {
		for s := range r.Counts.Records {
			if !yield(s) {
				return
			}
		}
	}) {
		fmt.Fprintf(w, "    %-18s %8d %8d\n", s, r.Counts.Records[s], r.Counts.People[s])
		records += r.Counts.Records[s]
		people += r.Counts.People[s]
	}
	fmt.Fprintf(w, "    %-18s %8d %8d   (people already purged are counted as records only)\n", "all", records, people)
	pct := float64(r.Counts.FacePeople) / FaceFilingThreshold * 100
	fmt.Fprintf(w, "  face data held now: %d people (%d records) — %.1f%% of the %d-person filing threshold", r.Counts.FacePeople,
		r.Counts.FaceRecords, pct, FaceFilingThreshold)
	if r.Counts.FacePeople >= FaceFilingThreshold {
		fmt.Fprint(w, ": FILING REQUIRED")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  retention in force: %s\n", r.Policy)
	if !r.Purged {
		fmt.Fprintln(w, "  purge: never ran")
		return
	}
	state := "complete"
	if !r.LastPurge.Complete {
		state = "INCOMPLETE (see purge_runs)"
	}
	fmt.Fprintf(w, "  purge: last run %d started %s, %s\n", r.LastPurge.ID, r.LastPurge.StartedAt.UTC().Format(time.RFC3339), state)
}
