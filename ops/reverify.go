package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/ivsbatch/ivsbatch/store"
)

// DefaultMaxForced is how many records with a verdict one forced requeue
// may send to IVS again unless -max-forced says more.
const DefaultMaxForced = 100

// Price is what one IVS call costs (IVSBATCH_PRICE_PER_CALL), to state a
// forced re-verification's cost before it runs. The zero Price is unknown.
type Price struct {
	Amount   float64
	Currency string // "CNY"; may be empty
}

// Cost says what n calls cost at p: "12 paid calls, 3.60 CNY".
func (p Price) Cost(n int) string {
	calls := fmt.Sprintf("%d paid IVS calls", n)
	if p.Amount == 0 {
		return calls + " (set IVSBATCH_PRICE_PER_CALL for the amount)"
	}
	return strings.TrimSpace(fmt.Sprintf("%s, %.2f %s", calls, float64(n)*p.Amount, p.Currency))
}

// CheckReason refuses a reason that explains nothing: a forced
// re-verification is paid and audited, and its reason is what an auditor
// reads. It needs at least 8 letters or digits, of at least 3 different
// characters ("ticket 4711: customer disputes", "客户对结果有异议").
func CheckReason(reason string) error {
	n, distinct := 0, map[rune]bool{}
	for _, r := range reason {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
			distinct[unicode.ToLower(r)] = true
		}
	}
	if n < 8 || len(distinct) < 3 {
		return errors.New(`-reason must say why this paid re-verification is needed (at least 8 letters or digits: "ticket 4711: customer disputes the verdict")`)
	}
	return nil
}

// checkForced guards a forced requeue before it runs: the selection must
// name a batch or records, the reason must explain, and the records with a
// verdict it would send again (counted by a dry run) are stated with their
// cost on o.Notice and must not exceed the cap.
func checkForced(ctx context.Context, st *store.Store, o *RequeueOptions) error {
	f := o.Filter
	if f.BatchID == 0 && len(f.IDs) == 0 {
		return errors.New("requeue: -force needs -batch or record ids (-ids, -ids-file): a forced re-verification is never fleet-wide")
	}
	if err := CheckReason(o.Reason); err != nil {
		return fmt.Errorf("requeue: %w", err)
	}
	dry, err := st.Requeue(ctx, f, store.RequeueOptions{DryRun: true, Force: true, Reason: o.Reason, Sample: 1, Chunk: o.Chunk}, nil)
	if err != nil {
		return err
	}
	limit := o.MaxForced
	if limit == 0 {
		limit = DefaultMaxForced
	}
	o.forcedEstimate = dry.Forced
	if o.Notice != nil {
		fmt.Fprintf(o.Notice, "forced re-verification: %d records with a verdict will be verified again: %s\n",
			dry.Forced, o.Price.Cost(dry.Forced))
	}
	if dry.Forced > limit {
		return &ForcedCapError{Forced: dry.Forced, Max: limit}
	}
	return nil
}

// ForcedCapError refuses a forced requeue that would re-verify more records
// than its cap (-max-forced): nothing was changed.
type ForcedCapError struct{ Forced, Max int }

func (e *ForcedCapError) Error() string {
	return fmt.Sprintf("requeue: %d records with a verdict would be re-verified, over the cap of %d: nothing changed; "+
		"narrow the selection or raise -max-forced", e.Forced, e.Max)
}

// ExitCode is 2: the flags must change.
func (e *ForcedCapError) ExitCode() int { return 2 }
