package ratelimit

import (
	"strconv"
	"time"
)

// Adapt is how the pace follows throttling (AIMD): the limiter paces at
// Factor × Rate. The pace starts at the full rate; each throttling episode
// (a 429, APIG.0308) multiplies the factor by Decrease (once per Cooldown,
// however many calls and processes saw it), and every RecoverEvery without a
// new episode adds Increase back, up to 1. The state is shared by every
// process through Redis: the quota is the account's, so a 429 seen by one
// process means the common pace is too high for all.
//
// The defaults are shallow and quick: a stray 429 (a request that arrived
// late, not a pace too high) costs 2 % of the pace for 2 s and 1 % for 2 s
// more, while a quota really lower than configured is still found, the pace
// losing about 1 % every 2 s for as long as throttling goes on. Zero values
// take defaults.
type Adapt struct {
	Decrease     float64       // multiplicative decrease per episode (default 0.98)
	Increase     float64       // additive recovery per RecoverEvery (default 0.01)
	RecoverEvery time.Duration // default 2 s
	Cooldown     time.Duration // one decrease per episode: later 429s within it are the same episode (default 2 s)
	Min          float64       // lowest factor (default 0.5)
}

func (a Adapt) withDefaults() Adapt {
	if a.Decrease <= 0 || a.Decrease >= 1 {
		a.Decrease = 0.98
	}
	if a.Increase <= 0 {
		a.Increase = 0.01
	}
	if a.RecoverEvery <= 0 {
		a.RecoverEvery = 2 * time.Second
	}
	if a.Cooldown <= 0 {
		a.Cooldown = 2 * time.Second
	}
	if a.Min <= 0 || a.Min > 1 {
		a.Min = 0.5
	}
	return a
}

// adaptState is one endpoint's stored state: the factor set by the last
// decrease, and when. The zero state is full pace.
type adaptState struct {
	Factor float64
	At     time.Time
}

// factor is the pace in force at now: the stored factor plus the recovery
// earned since.
func (a Adapt) factor(s adaptState, now time.Time) float64 {
	if s.At.IsZero() {
		return 1
	}
	steps := float64(now.Sub(s.At) / a.RecoverEvery)
	return min(1, s.Factor+steps*a.Increase)
}

// throttled is the state after a 429 at now; changed is false within the
// cooldown of the last decrease (the same episode).
func (a Adapt) throttled(s adaptState, now time.Time) (next adaptState, changed bool) {
	if !s.At.IsZero() && now.Sub(s.At) < a.Cooldown {
		return s, false
	}
	return adaptState{Factor: max(a.Min, a.factor(s, now)*a.Decrease), At: now}, true
}

// encode and decodeState store a state as Redis hash fields.
func (s adaptState) encode() map[string]any {
	return map[string]any{"f": strconv.FormatFloat(s.Factor, 'g', -1, 64), "t": strconv.FormatInt(s.At.UnixMilli(), 10)}
}

func decodeState(f, t string) adaptState {
	fv, err1 := strconv.ParseFloat(f, 64)
	tv, err2 := strconv.ParseInt(t, 10, 64)
	if err1 != nil || err2 != nil || tv == 0 {
		return adaptState{}
	}
	return adaptState{Factor: fv, At: time.UnixMilli(tv)}
}
