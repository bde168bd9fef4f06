package pipeline_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Every row of the outcome table, decided without a processor: the action,
// the status, what counts and the range of the delay.
func TestDecide(t *testing.T) {
	t.Parallel()
	c := pipeline.Config{InfraMaxTries: 3, InfraMaxAge: time.Hour, InfraBackoffBase: time.Second,
		InfraBackoffMax: 4 * time.Second, DedupWait: 2 * time.Second}.WithDefaults()
	p := c.Policy // MaxAttempts 5, backoff 2 s – 2 min, throttle 2 s (+3 s), pause 30 s
	call := func(class pipeline.Class, code, attempts int) pipeline.Event {
		return pipeline.Event{Kind: pipeline.EventCall, Class: class, Code: code, Attempts: attempts}
	}
	final := func(s pipeline.Status) pipeline.Decision {
		return pipeline.Decision{Action: pipeline.ActFinal, Status: s}
	}
	for _, tt := range []struct {
		name     string
		ev       pipeline.Event
		want     pipeline.Decision
		min, max time.Duration
	}{
		{"verdict 1000", call(pipeline.ClassVerdict, 1000, 0),
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusDone, Count: true, Reusable: true}, 0, 0},
		{"verdict 3001", call(pipeline.ClassVerdict, 3001, 0),
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusReview, Count: true}, 0, 0},
		{"billed_odd", call(pipeline.ClassBilledOdd, 0, 0),
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, Count: true}, 0, 0},
		{"input_error", call(pipeline.ClassInputError, 0, 0),
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, Count: true}, 0, 0},
		{"transient, second attempt", call(pipeline.ClassTransient, 0, 1),
			pipeline.Decision{Action: pipeline.ActRetry, Status: pipeline.StatusQueued, Count: true, Failure: true},
			p.BackoffBase, 2 * p.BackoffBase},
		{"ambiguous, last attempt", call(pipeline.ClassAmbiguous, 0, p.MaxAttempts-1),
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, Count: true, GaveUp: true}, 0, 0},
		{"unknown", call(pipeline.ClassUnknown, 0, 0),
			pipeline.Decision{Action: pipeline.ActRetry, Status: pipeline.StatusQueued, Count: true, Failure: true},
			p.BackoffBase / 2, p.BackoffBase},
		{"throttled", call(pipeline.ClassThrottled, 0, 0),
			pipeline.Decision{Action: pipeline.ActSlow, Status: pipeline.StatusQueued}, p.ThrottleWait, p.ThrottleWait + 3*time.Second},
		{"auth_refresh", call(pipeline.ClassAuthRefresh, 0, 0),
			pipeline.Decision{Action: pipeline.ActRefresh, Status: pipeline.StatusInFlight}, 0, 0},
		{"auth_refresh after a refresh", pipeline.Event{Kind: pipeline.EventCall, Class: pipeline.ClassAuthRefresh, Refreshed: true},
			pipeline.Decision{Action: pipeline.ActPause, Status: pipeline.StatusQueued}, p.PauseWait, p.PauseWait},
		{"account_stop", call(pipeline.ClassAccountStop, 0, 0),
			pipeline.Decision{Action: pipeline.ActPause, Status: pipeline.StatusQueued}, p.PauseWait, p.PauseWait},
		{"refresh refused", pipeline.Event{Kind: pipeline.EventRefreshFailed, Class: pipeline.ClassAccountStop},
			pipeline.Decision{Action: pipeline.ActPause, Status: pipeline.StatusQueued}, p.PauseWait, p.PauseWait},
		{"refresh unreachable", pipeline.Event{Kind: pipeline.EventRefreshFailed, Class: pipeline.ClassTransient},
			pipeline.Decision{Action: pipeline.ActWait, Status: pipeline.StatusQueued, Failure: true}, p.BackoffBase, 2 * p.BackoffBase},
		{"rejected", pipeline.Event{Kind: pipeline.EventRejected}, final(pipeline.StatusRejected), 0, 0},
		{"attempts used up", pipeline.Event{Kind: pipeline.EventExhausted, Attempts: 5},
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, GaveUp: true}, 0, 0},
		{"budget used up", pipeline.Event{Kind: pipeline.EventBudget},
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, GaveUp: true}, 0, 0},
		{"reused 2002", pipeline.Event{Kind: pipeline.EventReused, Code: 2002}, final(pipeline.StatusDone), 0, 0},
		{"reused, no code", pipeline.Event{Kind: pipeline.EventReused}, final(pipeline.StatusReview), 0, 0},
		{"duplicate in flight", pipeline.Event{Kind: pipeline.EventDuplicate},
			pipeline.Decision{Action: pipeline.ActWait, Status: pipeline.StatusQueued}, c.DedupWait, c.DedupWait},
		{"infra, second failure", pipeline.Event{Kind: pipeline.EventInfra, InfraFailures: 2, InfraAge: time.Minute},
			pipeline.Decision{Action: pipeline.ActRetry, Status: pipeline.StatusQueued}, time.Second, 2 * time.Second},
		{"infra, tries used up", pipeline.Event{Kind: pipeline.EventInfra, InfraFailures: 3},
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, GaveUp: true}, 0, 0},
		{"infra, too old", pipeline.Event{Kind: pipeline.EventInfra, InfraFailures: 1, InfraAge: time.Hour},
			pipeline.Decision{Action: pipeline.ActFinal, Status: pipeline.StatusFailed, GaveUp: true}, 0, 0},
		{"worker stopping", pipeline.Event{Kind: pipeline.EventStopping},
			pipeline.Decision{Action: pipeline.ActWait, Status: pipeline.StatusQueued}, p.BackoffBase / 2, p.BackoffBase},
		{"account paused", pipeline.Event{Kind: pipeline.EventPaused},
			pipeline.Decision{Action: pipeline.ActWait, Status: pipeline.StatusQueued}, p.PauseWait, p.PauseWait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.Decide(tt.ev)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(pipeline.Decision{}, "Delay")); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
			if got.Delay < tt.min || got.Delay > tt.max {
				t.Errorf("delay %s outside [%s, %s]", got.Delay, tt.min, tt.max)
			}
			if got.Status.Terminal() != (got.Action == pipeline.ActFinal) {
				t.Errorf("%s with status %s: only a final action ends a record", got.Action, got.Status)
			}
		})
	}
}

// An operator's rule changes the row; a billed answer stays final.
func TestDecideFollowsRules(t *testing.T) {
	t.Parallel()
	c := pipeline.Config{}.WithDefaults()
	if err := c.Policy.ParseRules("ambiguous=final,transient=pause"); err != nil {
		t.Fatal(err)
	}
	amb := c.Decide(pipeline.Event{Kind: pipeline.EventCall, Class: pipeline.ClassAmbiguous})
	tr := c.Decide(pipeline.Event{Kind: pipeline.EventCall, Class: pipeline.ClassTransient})
	if amb.Action != pipeline.ActFinal || amb.Status != pipeline.StatusFailed || tr.Action != pipeline.ActPause {
		t.Errorf("ambiguous=final: %+v; transient=pause: %+v", amb, tr)
	}
	if err := c.Policy.ParseRules("verdict=wait"); err == nil {
		t.Error("wait is not a rule operators set")
	}
}
