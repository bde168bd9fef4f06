package ops

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// EnvQuota is the account's requests per second per endpoint.
const EnvQuota = "IVSBATCH_QUOTA"

// DefaultQuota is IVS's quota per endpoint when EnvQuota is unset.
const DefaultQuota = 10.0

// Plan is what a batch will cost before (or while) it runs.
type Plan struct {
	BatchID                         int64
	Rows, Accepted, Refused, Review int // manifest rows at intake
	Open                            int // records not final yet
	// Calls is, per endpoint, the distinct inputs among open records: an
	// upper bound of the IVS calls still to pay (repeats of the same inputs
	// reuse one verdict; earlier valid verdicts may save more).
	Calls    map[pipeline.Endpoint]int
	Quota    float64       // requests/s per endpoint; ≤ 0: no limit
	Duration time.Duration // at Quota, endpoints in parallel; 0 when unlimited
	Budget   store.Budget
}

// TotalCalls is the sum of Calls.
func (p Plan) TotalCalls() int {
	n := 0
	for _, c := range p.Calls {
		n += c
	}
	return n
}

// BudgetCovers reports whether the batch's cap (if any) leaves room for
// every call of the plan, and how many calls it leaves.
func (p Plan) BudgetCovers() (ok bool, left int) {
	if p.Budget.MaxBilled == 0 {
		return true, -1
	}
	left = max(p.Budget.MaxBilled-p.Budget.Used, 0)
	return left >= p.TotalCalls(), left
}

// MakePlan computes batchID's plan at quota requests/s per endpoint.
func MakePlan(ctx context.Context, st *store.Store, batchID int64, quota float64) (Plan, error) {
	c, err := st.PlanCounts(ctx, batchID)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{BatchID: batchID, Rows: c.Rows, Refused: c.Refused, Review: c.Review,
		Accepted: c.Rows - c.Refused - c.Review, Calls: map[pipeline.Endpoint]int{}, Quota: quota, Budget: c.Budget}
	for _, s := range c.Shapes {
		p.Open += s.Records
		p.Calls[s.Shape.Endpoint()] += s.Distinct
	}
	if quota > 0 {
		for _, n := range p.Calls {
			p.Duration = max(p.Duration, time.Duration(math.Ceil(float64(n)/quota))*time.Second)
		}
	}
	return p, nil
}

// Write prints the plan for people.
func (p Plan) Write(w io.Writer) {
	fmt.Fprintf(w, "plan for batch %d\n", p.BatchID)
	fmt.Fprintf(w, "  rows:     %d in the manifest: %d accepted, %d refused, %d for review\n", p.Rows, p.Accepted, p.Refused, p.Review)
	total := p.TotalCalls()
	fmt.Fprintf(w, "  calls:    at most %d paid IVS calls for the %d records still open (%d repeat another record's inputs and reuse its verdict; earlier valid verdicts may save more)\n",
		total, p.Open, p.Open-total)
	for _, e := range []pipeline.Endpoint{pipeline.EndpointStandard, pipeline.EndpointExtention} {
		if n := p.Calls[e]; n > 0 {
			fmt.Fprintf(w, "            %-28s %d\n", e, n)
		}
	}
	if p.Quota > 0 {
		fmt.Fprintf(w, "  duration: about %s at %s=%g requests/s per endpoint (the two endpoints run in parallel)\n",
			p.Duration, EnvQuota, p.Quota)
	} else {
		fmt.Fprintf(w, "  duration: unknown (%s ≤ 0: no limit)\n", EnvQuota)
	}
	switch ok, left := p.BudgetCovers(); {
	case left < 0:
		fmt.Fprintf(w, "  budget:   no cap (ops budget -batch %d -max N sets one)\n", p.BatchID)
	case ok:
		fmt.Fprintf(w, "  budget:   covered: cap %d, %d used, %d left for at most %d calls\n", p.Budget.MaxBilled, p.Budget.Used, left, total)
	default:
		fmt.Fprintf(w, "  budget:   NOT covered: cap %d, %d used, %d left for up to %d calls (%d short; raise it with ops budget -batch %d -max N)\n",
			p.Budget.MaxBilled, p.Budget.Used, left, total, total-left, p.BatchID)
	}
}
