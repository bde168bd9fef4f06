package pipeline

import (
	"slices"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// VerdictRule says what one IVS verification code means for a record: the
// final status, and whether the verdict may be reused for a later record
// with identical inputs (dedup). This table is the one place that interprets
// verification codes; the processor, the store's dedup query and the report
// read it.
type VerdictRule struct {
	Code   int
	Result string // valid, invalid, nonexistent
	Status Status // done, or review (a human looks at it)
	// Reusable verdicts depend only on the inputs (the same name, id number
	// and face give the same answer) and are reused across batches within
	// the dedup window. 2006 and 3001 depend on the authority's records,
	// which change: they are reused only within their own batch.
	Reusable bool
	Meaning  string
}

var verdictRules = []VerdictRule{
	{1000, "valid", StatusDone, true, "verified"},
	{2001, "invalid", StatusDone, true, "name and id number do not match"},
	{2002, "invalid", StatusDone, true, "face does not match the id"},
	{2003, "invalid", StatusDone, true, "face image quality or format"},
	{2006, "invalid", StatusReview, false, "no id photo in the authority's data"},
	{3001, "nonexistent", StatusReview, false, "id not in the authority's data"},
}

// VerdictRuleOf returns the rule for verification code c. An unknown code
// goes to review and is never reused.
func VerdictRuleOf(c int) VerdictRule {
	for _, r := range verdictRules {
		if r.Code == c {
			return r
		}
	}
	return VerdictRule{Code: c, Status: StatusReview, Meaning: "unknown verification code"}
}

// VerdictRules returns the table, in code order.
func VerdictRules() []VerdictRule { return slices.Clone(verdictRules) }

// ReusableCodes lists the verification codes whose verdict may be reused for
// identical inputs (for SQL: verification_code = ANY($n)).
func ReusableCodes() []int {
	var out []int
	for _, r := range verdictRules {
		if r.Reusable {
			out = append(out, r.Code)
		}
	}
	return out
}

// Decision is what the outcome table says about one IVS answer: what to do,
// the record's status afterwards (final, or queued/in flight to go on),
// whether it counts against the record's attempts and whether the verdict
// may be reused.
type Decision struct {
	Action   Action
	Status   Status
	Count    bool
	Reusable bool
}

// Decide is the outcome table: the policy's action for class, and for a
// verdict (code = verification_code) its rule. A retry that used up the
// attempts is failed by the processor. Rows:
//
//	verdict       final   done or review per VerdictRule, counted, reusable per VerdictRule
//	billed_odd    final   failed, counted
//	input_error   final   failed, counted
//	transient     retry   queued, counted (failed after MaxAttempts)
//	ambiguous     retry   queued, counted, the attempt possibly billed
//	unknown       retry   queued, counted
//	throttled     slow    queued, not counted
//	auth_refresh  refresh in flight, not counted: refresh and resend once, then pause
//	account_stop  pause   queued, not counted, resumable
func (p Policy) Decide(class ivs.Class, code int) Decision {
	a := p.Action(class)
	switch a {
	case ActFinal:
		if class == ivs.ClassVerdict {
			r := VerdictRuleOf(code)
			return Decision{Action: a, Status: r.Status, Count: true, Reusable: r.Reusable}
		}
		return Decision{Action: a, Status: StatusFailed, Count: true}
	case ActRetry:
		return Decision{Action: a, Status: StatusQueued, Count: true}
	case ActRefresh:
		return Decision{Action: a, Status: StatusInFlight}
	default: // ActSlow, ActPause
		return Decision{Action: a, Status: StatusQueued}
	}
}
