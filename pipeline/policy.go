package pipeline

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Action is what the processor does with a record after an IVS outcome.
type Action string

// Actions, as named in configuration.
const (
	ActFinal   Action = "final"   // store the outcome; the record is finished (done for a verdict, else failed)
	ActRetry   Action = "retry"   // retry with exponential backoff and jitter; counts as an attempt; failed when attempts run out
	ActSlow    Action = "slow"    // tell the shared limiter to slow down and retry soon; not an attempt, not a failure
	ActRefresh Action = "refresh" // refresh credentials and resend once; if that fails too, pause
	ActPause   Action = "pause"   // pause all traffic for the account; the record waits, resumable
	// ActWait is not a rule operators set: the record goes back to the
	// queue uncounted and the task looks again after the decision's delay
	// (identical inputs in progress, the account paused, the worker stopping).
	ActWait Action = "wait"
)

// Policy is the retry table: one action per outcome class, plus the limits.
// Operators override rules with IVSBATCH_RETRY_RULES (see ParseRules).
type Policy struct {
	Rules        map[Class]Action
	MaxAttempts  int           // counted attempts before a record is failed (default 5)
	BackoffBase  time.Duration // first retry delay (default 2 s); doubles per attempt, full jitter
	BackoffMax   time.Duration // cap on a retry delay (default 2 min)
	ThrottleWait time.Duration // delay after a 429 (default 2 s, plus up to 3 s jitter, as the digest advises)
	PauseWait    time.Duration // how long a task waits before looking again while the account is paused (default 30 s)
}

// DefaultRules is the documented table. A verdict and a billed 200 are never
// retried: they were paid for. Ambiguous timeouts are retried but their
// attempt rows say "possibly billed".
func DefaultRules() map[Class]Action {
	return map[Class]Action{
		ClassVerdict:     ActFinal,
		ClassBilledOdd:   ActFinal,
		ClassInputError:  ActFinal,
		ClassTransient:   ActRetry,
		ClassThrottled:   ActSlow,
		ClassAuthRefresh: ActRefresh,
		ClassAccountStop: ActPause,
		ClassAmbiguous:   ActRetry,
		ClassUnknown:     ActRetry,
	}
}

// DefaultPolicy returns the default table and limits.
func DefaultPolicy() Policy {
	return Policy{Rules: DefaultRules(), MaxAttempts: 5, BackoffBase: 2 * time.Second, BackoffMax: 2 * time.Minute,
		ThrottleWait: 2 * time.Second, PauseWait: 30 * time.Second}
}

// ParseRules applies overrides like "transient=retry,ambiguous=final" to p.
// Verdicts and billed 200s cannot be overridden: retrying them pays twice.
// Every part must be class=action with a known class and action.
func (p *Policy) ParseRules(s string) error {
	if p.Rules == nil {
		p.Rules = DefaultRules()
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, act, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("rule %q: want class=action", part)
		}
		c, ok := ParseClass(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("rule %q: unknown class %q (want one of %s)", part, name, classList())
		}
		a := Action(strings.TrimSpace(act))
		switch a {
		case ActFinal, ActRetry, ActSlow, ActRefresh, ActPause:
		default:
			return fmt.Errorf("rule %q: unknown action %q (want final, retry, slow, refresh or pause)", part, act)
		}
		if (c == ClassVerdict || c == ClassBilledOdd) && a != ActFinal {
			return fmt.Errorf("rule %q: a billed answer is always final", part)
		}
		p.Rules[c] = a
	}
	return nil
}

func classList() string {
	var names []string
	for c := ClassUnknown; c <= ClassAmbiguous; c++ {
		names = append(names, c.String())
	}
	return strings.Join(names, ", ")
}

// validate says what is wrong with a defaulted policy.
func (p Policy) validate() error {
	if p.MaxAttempts < 1 {
		return fmt.Errorf("Policy.MaxAttempts %d: want at least 1", p.MaxAttempts)
	}
	if p.BackoffBase <= 0 || p.BackoffMax < p.BackoffBase || p.ThrottleWait <= 0 || p.PauseWait <= 0 {
		return fmt.Errorf("Policy: backoff %s–%s, throttle wait %s, pause wait %s: want positive durations, base ≤ max",
			p.BackoffBase, p.BackoffMax, p.ThrottleWait, p.PauseWait)
	}
	for _, c := range []Class{ClassVerdict, ClassBilledOdd} {
		if a, ok := p.Rules[c]; ok && a != ActFinal {
			return fmt.Errorf("Policy.Rules[%s] = %s: a billed answer is always final", c, a)
		}
	}
	return nil
}

// Action returns the rule for class c.
func (p Policy) Action(c Class) Action {
	if a, ok := p.Rules[c]; ok {
		return a
	}
	return ActRetry
}

// Backoff is the delay before retry number attempt (1-based): the one
// backoff formula (see backoffDelay) from BackoffBase up to BackoffMax.
func (p Policy) Backoff(attempt int) time.Duration {
	return backoffDelay(p.BackoffBase, p.BackoffMax, attempt)
}

// Exhausted reports whether a record with n counted attempts has used them
// all: it is not sent again.
func (p Policy) Exhausted(n int) bool { return n >= p.MaxAttempts }

// backoffDelay is the delay before retry n (1-based): doubling from base, capped
// at ceiling, with "equal jitter" (half fixed, half random) so that the records
// of an outage do not all come back at once. Call retries and
// infrastructure retries both use it, with their own base and cap.
func backoffDelay(base, ceiling time.Duration, n int) time.Duration {
	d := base << min(max(n-1, 0), 20)
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return d/2 + rand.N(d/2+1)
}

// Throttle is the delay after a 429: ThrottleWait plus up to 3 s of jitter.
func (p Policy) Throttle() time.Duration {
	return p.ThrottleWait + rand.N(3*time.Second)
}
