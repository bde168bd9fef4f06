package pipeline

import (
	"slices"
	"time"
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

// EventKind is what happened to a record in a task.
type EventKind int

// The events of the outcome table. A call's row is its Class; every other
// event ends a task before (or instead of) a call.
const (
	EventCall          EventKind = iota // IVS answered, or the call failed: Event.Class says how
	EventRefreshFailed                  // refreshing the credentials failed: Event.Class says how
	EventRejected                       // the input is known to fail before calling (a Rejection)
	EventExhausted                      // the record had used up its attempts before this task
	EventBudget                         // the batch's budget of billed calls is used up
	EventReused                         // identical inputs have a verdict (Event.Code): it is reused
	EventDuplicate                      // identical inputs are being verified by another record
	EventInfra                          // infrastructure trouble: fetch, prepare, store, limiter
	EventStopping                       // the worker is stopping (the task's context was cancelled)
	EventPaused                         // the account's traffic is paused
)

// Event is the key of a row of the outcome table, with what the row needs
// to know of the record.
type Event struct {
	Kind  EventKind
	Class Class // EventCall, EventRefreshFailed: the class of the answer or of the failure
	Code  int   // the verification code of a verdict (EventCall) or of the reused one (EventReused); 0: none
	// Attempts is the record's counted attempts before the event.
	Attempts int
	// Refreshed is set on EventCall when the credentials were already
	// refreshed once in this task: a second refusal pauses the account.
	Refreshed bool
	// InfraFailures and InfraAge (EventInfra) count the record's
	// consecutive infrastructure failures, this one included, and the time
	// since the first.
	InfraFailures int
	InfraAge      time.Duration
}

// Decision is what the outcome table says about an event: what to do, the
// record's status afterwards (final, or queued/in flight to go on), when
// the task runs again, whether the attempt counts against the record's
// attempts and the try against the queue's, and whether a verdict may be
// reused across batches.
type Decision struct {
	Action   Action
	Status   Status
	Delay    time.Duration // before the task runs again (not final)
	Count    bool          // the attempt counts against Policy.MaxAttempts
	Failure  bool          // the queue counts the try as a failure
	Reusable bool
	// GaveUp is set when the record ends failed because a bound was
	// reached: its attempts, the infrastructure bound or the budget.
	GaveUp bool
}

// Decide is the outcome table: the one place that decides a record's
// status after an event, when its task runs again and what counts. Rows:
//
//	event / class        action   status              delay               counted
//	verdict              final    done or review per VerdictRule          yes (reusable per VerdictRule)
//	billed_odd           final    failed                                  yes
//	input_error          final    failed                                  yes
//	transient            retry    queued              Backoff(attempts)   yes, failed when attempts run out
//	ambiguous            retry    queued              Backoff(attempts)   yes, the attempt possibly billed
//	unknown              retry    queued              Backoff(attempts)   yes
//	throttled            slow     queued              Throttle()          no
//	auth_refresh         refresh  in_flight           resent at once      no; refused again: pause
//	account_stop         pause    queued              PauseWait           no, resumable
//	refresh failed       pause (account_stop), else wait Backoff(2)       no
//	rejected             final    rejected                                no
//	attempts used up     final    failed                                  no
//	budget used up       final    failed                                  no
//	reused verdict       final    done or review per VerdictRule          no
//	duplicate in flight  wait     queued              DedupWait           no
//	infrastructure       retry    queued              infra backoff       no (its own bound); failed at the bound
//	worker stopping      wait     queued              Backoff(1)          no
//	account paused       wait     queued              PauseWait           no
//
// The class rows follow Policy.Rules (operators may override them, except
// for billed answers). Store trouble that leaves the record untouched (the
// claim, the pause switch, an outcome write) is not a row: the task runs
// again after the policy's backoff.
func (c Config) Decide(e Event) Decision {
	p := c.Policy
	switch e.Kind {
	case EventCall:
		return c.decideCall(e)
	case EventRefreshFailed:
		if e.Class == ClassAccountStop {
			return Decision{Action: ActPause, Status: StatusQueued, Delay: p.PauseWait}
		}
		return Decision{Action: ActWait, Status: StatusQueued, Delay: p.Backoff(2), Failure: true}
	case EventRejected:
		return Decision{Action: ActFinal, Status: StatusRejected}
	case EventExhausted, EventBudget:
		return Decision{Action: ActFinal, Status: StatusFailed, GaveUp: true}
	case EventReused:
		return Decision{Action: ActFinal, Status: VerdictRuleOf(e.Code).Status}
	case EventDuplicate:
		return Decision{Action: ActWait, Status: StatusQueued, Delay: c.DedupWait}
	case EventInfra:
		if e.InfraFailures >= c.InfraMaxTries || e.InfraAge >= c.InfraMaxAge {
			return Decision{Action: ActFinal, Status: StatusFailed, GaveUp: true}
		}
		return Decision{Action: ActRetry, Status: StatusQueued,
			Delay: backoffDelay(c.InfraBackoffBase, c.InfraBackoffMax, e.InfraFailures)}
	case EventStopping:
		return Decision{Action: ActWait, Status: StatusQueued, Delay: p.Backoff(1)}
	default: // EventPaused
		return Decision{Action: ActWait, Status: StatusQueued, Delay: p.PauseWait}
	}
}

// decideCall is the table's rows for a call: the policy's action for its
// class, and for a verdict its rule.
func (c Config) decideCall(e Event) Decision {
	p := c.Policy
	a := p.Action(e.Class)
	if a == ActRefresh && e.Refreshed {
		a = ActPause // refused even with fresh credentials
	}
	switch a {
	case ActFinal:
		if e.Class == ClassVerdict {
			r := VerdictRuleOf(e.Code)
			return Decision{Action: a, Status: r.Status, Count: true, Reusable: r.Reusable}
		}
		return Decision{Action: a, Status: StatusFailed, Count: true}
	case ActRetry:
		if p.Exhausted(e.Attempts + 1) {
			return Decision{Action: ActFinal, Status: StatusFailed, Count: true, GaveUp: true}
		}
		return Decision{Action: a, Status: StatusQueued, Delay: p.Backoff(e.Attempts + 1), Count: true, Failure: true}
	case ActSlow:
		return Decision{Action: a, Status: StatusQueued, Delay: p.Throttle()}
	case ActRefresh:
		return Decision{Action: a, Status: StatusInFlight}
	default: // ActPause
		return Decision{Action: ActPause, Status: StatusQueued, Delay: p.PauseWait}
	}
}
