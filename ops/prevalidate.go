package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// PrevalidateRow is one record that would not be sent.
type PrevalidateRow struct {
	ID      int64
	Ref     string
	Status  pipeline.Status
	Code    string // reject code, or "error" for storage/tooling trouble
	Message string // field and reason (never the field's value)
}

// PrevalidateResult counts what a batch's open records would become.
type PrevalidateResult struct {
	Checked int
	OK      int
	ByCode  map[string]int // reject code → records; "error" = could not be checked (storage down …)
	Sample  []PrevalidateRow
}

// Prevalidate runs, for every pending or queued record of batchID, what the
// worker does before calling IVS (fetch the media, prepare it, validate the
// request) with proc's Fetcher and Preparer, and reports which records would
// be rejected and why. IVS is never called and nothing is stored. Records
// are read in chunks (memory stays bounded); with progress not nil a
// progress bar is drawn there.
func Prevalidate(ctx context.Context, st *store.Store, proc *pipeline.Processor, batchID int64, sample int,
	progress io.Writer) (PrevalidateResult, error) {
	res := PrevalidateResult{ByCode: map[string]int{}}
	if sample == 0 {
		sample = 20
	}
	tick := func() {}
	if progress != nil {
		bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription("records checked"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		tick = func() { _ = bar.Add(1) }
	}
	err := st.EachRecord(ctx, batchID, []pipeline.Status{pipeline.StatusPending, pipeline.StatusQueued},
		func(rec *pipeline.Record) error {
			tick()
			res.Checked++
			_, err := proc.Prevalidate(ctx, rec)
			if err == nil {
				res.OK++
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			code := "error"
			var rej pipeline.Rejection
			if errors.As(err, &rej) {
				code = rej.RejectCode()
			}
			res.ByCode[code]++
			if len(res.Sample) < sample {
				res.Sample = append(res.Sample, PrevalidateRow{ID: rec.ID, Ref: rec.Ref, Status: rec.Status, Code: code,
					Message: err.Error()})
			}
			return nil
		})
	return res, err
}

// PrintPrevalidate writes r for an operator, refs, codes and messages
// escaped for the terminal (sink.Terminal).
func PrintPrevalidate(w io.Writer, batchID int64, r PrevalidateResult) {
	fmt.Fprintf(w, "batch %d: %d pending/queued records checked without calling IVS: %d would be sent, %d would not\n",
		batchID, r.Checked, r.OK, r.Checked-r.OK)
	for _, k := range slices.Sorted(maps.Keys(r.ByCode)) {
		note := ""
		if k == "error" {
			note = " (could not be checked: storage or tooling trouble, not the input)"
		}
		fmt.Fprintf(w, "  %-24s %d%s\n", sink.Terminal(k), r.ByCode[k], note)
	}
	if len(r.Sample) > 0 {
		fmt.Fprintf(w, "%-10s %-28s %-20s %s\n", "id", "ref", "code", "reason")
		for _, s := range r.Sample {
			fmt.Fprintf(w, "%-10d %-28s %-20s %s\n", s.ID, trunc(sink.Terminal(s.Ref), 28), sink.Terminal(s.Code), sink.Terminal(s.Message))
		}
	}
}
