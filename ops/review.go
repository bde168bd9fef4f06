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

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ReviewQueue is ops review's list: the cases shown and every case's count
// by why it is in review.
type ReviewQueue struct {
	Cases []Found
	ByWhy map[string]int
}

// Review lists the review cases f selects, masked, with why each is there.
func Review(ctx context.Context, st *store.Store, f store.ReviewFilter) (ReviewQueue, error) {
	recs, why, err := st.ListReview(ctx, f)
	if err != nil {
		return ReviewQueue{}, err
	}
	cases, err := withDecisions(ctx, st, recs)
	return ReviewQueue{Cases: cases, ByWhy: why}, err
}

// reviewMeaning explains a code that puts a record in review.
func reviewMeaning(code string) string {
	switch code {
	case identity.CodeNamePrivateUse:
		return "name holds a private-use character (a rare character typed in a GBK/Big5 user-defined area): check it, then approve, reject or re-verify with the name as the authority stores it"
	}
	return ""
}

// PrintReview writes the review queue: counts by why, then one line per
// case with its meaning and the decision commands.
func PrintReview(w io.Writer, q ReviewQueue) {
	total := 0
	for _, n := range q.ByWhy {
		total += n
	}
	if total == 0 {
		fmt.Fprintln(w, "review queue empty")
		return
	}
	fmt.Fprintf(w, "%d records in review\n", total)
	for _, k := range slices.Sorted(maps.Keys(q.ByWhy)) {
		fmt.Fprintf(w, "  %-20s %6d  %s\n", sink.Terminal(k), q.ByWhy[k], whyMeaning(k))
	}
	fmt.Fprintf(w, "\n%-10s %-6s %-24s %-20s %-8s %-20s %s\n", "record", "batch", "ref", "why", "name", "id number", "")
	for _, c := range q.Cases {
		fmt.Fprintf(w, "%-10d %-6d %-24s %-20s %-8s %-20s %s\n", c.ID, c.BatchID, trunc(sink.Terminal(c.Ref), 24),
			sink.Terminal(c.Why), sink.Terminal(c.NameMasked), sink.Terminal(c.IDMasked), c.Verdict)
	}
	if shown := len(q.Cases); shown < total {
		fmt.Fprintf(w, "… %d more (-after %d)\n", total-shown, q.Cases[shown-1].ID)
	}
	fmt.Fprintln(w, "\ndecide: ops review -decide approve|reject|reverify -reason TEXT -ref REF | -refs-file FILE [-batch ID] [-name CORRECTED]")
}

// whyMeaning says what a why code (a verification code or an error code)
// means.
func whyMeaning(code string) string {
	var vc int
	if _, err := fmt.Sscanf(code, "%d", &vc); err == nil && fmt.Sprint(vc) == code {
		return pipeline.VerdictRuleOf(vc).Meaning
	}
	return reviewMeaning(code)
}

// DecideOptions are ops review -decide's.
type DecideOptions struct {
	BatchID  int64    // 0: refs are looked up in every batch (each must then be in review in one batch only)
	Refs     []string // the records' refs
	Decision pipeline.ReviewDecision
	Reason   string
	// CorrectedName, re-verify only: the name as the authority stores it
	// (checked like a manifest's name; a private-use character is refused).
	CorrectedName string
	Operator      string
}

// DecideReport is what ops review -decide did.
type DecideReport struct {
	store.DecisionResult
	NotFound []string            // refs with no record at all
	NotCase  map[string][]string // ref → "batch B: status S" for refs with records but none in review
}

// ErrAmbiguousRef is returned when a ref is in review in several batches
// and no -batch says which.
var ErrAmbiguousRef = errors.New("ref is in review in several batches: give -batch")

// Decide resolves o.Refs to records in review and records the decision
// for all of them in one transaction (store.Decide), audited. A ref in
// review in several batches without o.BatchID refuses the whole decision,
// before anything changes.
func Decide(ctx context.Context, st *store.Store, o DecideOptions) (DecideReport, error) {
	rep := DecideReport{NotCase: map[string][]string{}}
	o, err := checkDecision(o)
	if err != nil {
		return rep, err
	}
	var ids []int64
	for _, ref := range o.Refs {
		inReview, other, err := st.ReviewCaseIDs(ctx, o.BatchID, ref)
		if err != nil {
			return rep, err
		}
		switch {
		case len(inReview) > 1:
			return rep, fmt.Errorf("review: %s: %w", sink.Terminal(ref), ErrAmbiguousRef)
		case len(inReview) == 1:
			ids = append(ids, inReview[0])
		case len(other) == 0:
			rep.NotFound = append(rep.NotFound, ref)
		default:
			for _, r := range other {
				rep.NotCase[ref] = append(rep.NotCase[ref], fmt.Sprintf("batch %d: %s", r.BatchID, r.Status))
			}
		}
	}
	if len(ids) == 0 {
		return rep, nil
	}
	res, err := decide(ctx, st, ids, o)
	rep.DecisionResult = res
	return rep, err
}

// checkDecision checks a decision before anything is looked up: a known
// decision, a reason, a corrected name (re-verify only) that IVS accepts,
// normalised.
func checkDecision(o DecideOptions) (DecideOptions, error) {
	if !slices.Contains(pipeline.ReviewDecisions, o.Decision) {
		return o, invalidDecision(fmt.Errorf("review: -decide %q: want approve, reject or reverify", o.Decision))
	}
	if strings.TrimSpace(o.Reason) == "" {
		return o, invalidDecision(errors.New("review: -reason is required (who reads the audit log must know why)"))
	}
	if o.CorrectedName != "" {
		if o.Decision != pipeline.DecideReverify {
			return o, invalidDecision(errors.New("review: -name goes with -decide reverify only"))
		}
		name, err := identity.NormalizeName(o.CorrectedName)
		if err != nil {
			return o, invalidDecision(fmt.Errorf("review: -name is not a name IVS accepts (%s)", identity.ErrorCode(err)))
		}
		o.CorrectedName = name
	}
	return o, nil
}

func decide(ctx context.Context, st *store.Store, ids []int64, o DecideOptions) (store.DecisionResult, error) {
	return st.Decide(ctx, ids, store.Decision{Decision: o.Decision, Reason: o.Reason, Operator: o.Operator,
		CorrectedName: o.CorrectedName})
}

// ErrInvalidDecision is what a decision refused before anything is looked
// up matches (errors.Is): an unknown decision, no reason, a corrected name
// IVS would refuse. A client's mistake, not the server's.
var ErrInvalidDecision = errors.New("invalid review decision")

type decisionError struct{ error }

func (e decisionError) Is(target error) bool { return target == ErrInvalidDecision }
func (e decisionError) Unwrap() error        { return e.error }

func invalidDecision(err error) error { return decisionError{err} }

// DecideRecords records o's decision (o.Refs and o.BatchID unused) for the
// review cases ids, as Decide does for refs: checked the same way, one
// transaction with its audit row (store.Decide). Ids not in review are
// left alone and listed in NotInCase. The console and the API decide
// through it.
func DecideRecords(ctx context.Context, st *store.Store, ids []int64, o DecideOptions) (store.DecisionResult, error) {
	o, err := checkDecision(o)
	if err != nil {
		return store.DecisionResult{}, err
	}
	if len(ids) == 0 {
		return store.DecisionResult{}, invalidDecision(errors.New("review: no record"))
	}
	return decide(ctx, st, ids, o)
}

// PrintDecide says what a decision did, and for a re-verification how many
// paid IVS calls it queued.
func PrintDecide(w io.Writer, o DecideOptions, rep DecideReport) {
	fmt.Fprintf(w, "%s: %d records decided\n", o.Decision, len(rep.Decided))
	for _, r := range rep.Decided {
		fmt.Fprintf(w, "  record %d (batch %d) → %s\n", r.ID, r.BatchID, r.Status)
	}
	if rep.Reverified > 0 {
		fmt.Fprintf(w, "re-verification: %d paid IVS call(s) queued, one per record (billed like any call; counted in the batch's budget)\n",
			rep.Reverified)
		if o.CorrectedName != "" {
			fmt.Fprintln(w, "the corrected name replaces the record's name (sealed); the decision row says it was corrected")
		}
	}
	for _, ref := range rep.NotFound {
		fmt.Fprintf(w, "  ref %s: no such record\n", sink.Terminal(ref))
	}
	for _, ref := range slices.Sorted(maps.Keys(rep.NotCase)) {
		fmt.Fprintf(w, "  ref %s: not in review (%s)\n", sink.Terminal(ref), strings.Join(rep.NotCase[ref], "; "))
	}
	for _, id := range rep.NotInCase {
		fmt.Fprintf(w, "  record %d: left review meanwhile; not decided\n", id)
	}
}

// ReviewDecisionColumns are the export's columns for a record's latest
// review decision (ReviewDecisionCells).
var ReviewDecisionColumns = []string{"review_decision", "review_reason", "reviewed_by", "reviewed_at"}

// ReviewDecisionCells returns, for each of ids (a chunk of an export) that
// has a review decision, its ReviewDecisionColumns cells: the decision, the
// reviewer's reason (operator text: neutralise it like any cell), the
// declared operator and database user, and the time in loc. Records without
// a decision are absent (empty cells).
func ReviewDecisionCells(ctx context.Context, st *store.Store, ids []int64, loc *time.Location) (map[int64][]string, error) {
	decisions, err := st.LatestDecisions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]string, len(decisions))
	for id, d := range decisions {
		out[id] = []string{string(d.Decision), d.Reason, d.Operator + " (" + d.DBUser + ")",
			d.DecidedAt.In(loc).Format(time.RFC3339)}
	}
	return out, nil
}
