package store

import (
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// This file is the only one of the store that spells an attempt state or a
// record status: every query builds them from the constants below and from
// pipeline's statuses (states_test.go checks it).

// AttemptState is where an attempt (a row of attempts, one IVS call) stands.
type AttemptState string

// The attempt states.
const (
	AttemptReserved  AttemptState = "reserved"  // a slot of the batch's budget is taken; nothing sent yet
	AttemptInFlight  AttemptState = "in_flight" // the call may be on the wire
	AttemptFinished  AttemptState = "finished"  // the call's outcome is stored
	AttemptAbandoned AttemptState = "abandoned" // its worker stopped before storing the outcome: possibly billed
)

// openAttempts are the states of an attempt not closed yet.
var openAttempts = []AttemptState{AttemptReserved, AttemptInFlight}

// queueHeld are the statuses of a record on its way through the queue: a
// task for it is queued or a worker holds it (the predicate of the partial
// indexes records_open and records_open_id).
var queueHeld = []pipeline.Status{pipeline.StatusQueued, pipeline.StatusInFlight}

// terminal and openStatuses are pipeline.TerminalStatuses and
// pipeline.OpenStatuses as text[] query arguments.
var (
	terminal     = pipeline.StatusStrings(pipeline.TerminalStatuses)
	openStatuses = pipeline.StatusStrings(pipeline.OpenStatuses)
)

// sqlText renders v as a SQL string literal.
func sqlText[T ~string](v T) string {
	return "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
}

// sqlIn renders vs as a parenthesised list of SQL literals, ('a', 'b'), for
// IN. Queries that must match a partial index's predicate use literals: the
// planner proves a predicate from literals, not from the parameters of a
// generic plan.
func sqlIn[T ~string](vs ...T) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = sqlText(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// slotHeld is true for an attempt (alias a) that holds a slot of its batch's
// budget: not closed yet, or (possibly) billed. A batch's budget_used is
// maintained in the same statements that change its attempts (Reserve,
// Send, Release, Finish, Claim): it is the number of the batch's attempts
// for which slotHeld is true.
func slotHeld(a string) string {
	return `(` + a + `.state IN ` + sqlIn(openAttempts...) + ` OR ` + a + `.billed OR ` + a + `.possibly_billed)`
}

// abandonedMessage is stored on every attempt closed as abandoned.
const abandonedMessage = "abandoned: the worker stopped before storing the outcome"

// abandonSQL closes as abandoned the attempts in flight (alias a) that the
// condition where selects, from the FROM list from ("" for none): their
// worker stopped before storing the outcome, so the call may have been
// billed. It returns their ids. Claim, lost-task recovery and reconcile
// close abandoned attempts with it.
func abandonSQL(from, where string) string {
	if from != "" {
		from = " FROM " + from
	}
	return `UPDATE attempts a SET state = ` + sqlText(AttemptAbandoned) + `, finished_at = now(), possibly_billed = true,
		message = ` + sqlText(abandonedMessage) + from + `
		WHERE a.state = ` + sqlText(AttemptInFlight) + ` AND ` + where + ` RETURNING a.id`
}

// heldBatches are the states an operator sets (ops pause, ops cancel).
var heldBatches = pipeline.HeldBatchStates

// moving are the open statuses of records on their way to IVS: all but
// held (a paused batch's), which dedup does not wait for.
var moving = pipeline.StatusStrings([]pipeline.Status{pipeline.StatusPending, pipeline.StatusQueued, pipeline.StatusInFlight})

// reviewDecided are the statuses a review decision gives a record.
var reviewDecided = []pipeline.Status{pipeline.StatusReviewApproved, pipeline.StatusReviewRejected}
