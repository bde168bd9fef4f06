// Package ratelimit paces IVS calls so that every worker process together
// uses the account's quota without being throttled. The gateway counts the
// calls it accepted in a sliding one-second window, so the limiter keeps one
// evenly spaced schedule per endpoint, shared through Redis: every call
// reserves the next slot (one pace interval after the last, never two at
// once) and goes out at it. Slots are reserved at most Horizon ahead, by one caller per process and
// endpoint at a time, so a process does not hammer Redis and a change of pace
// takes effect within Horizon.
//
// The pace is (1 − Headroom) × quota × the shared AIMD factor (see Adapt):
// a 429 (APIG.0308) lowers the factor a little (and shifts the schedule by
// Backoff, if set), once per episode for every process; the factor climbs
// back while throttling stays away.
//
// What the gateway sees is when a request arrives, not when it was granted:
// the work between the two (a database write, signing) adds jitter. Gate
// removes it: Wait returns Lead before the slot, and the gated Verifier holds
// the request until the slot itself.
//
// The shared schedule is a Lua script of our own rather than a GCRA library
// (go-redis/redis_rate, used before): GCRA answers "allowed now, or retry
// after", so callers poll, every grant lands late, and the next slot is
// dated from the late grant — 3–10 % of the quota was lost that way before
// any 429 (bench/README.md, "Pacing at the quota"). What a library still does
// best stays with it: each process also holds its own sends to the quota with
// golang.org/x/time/rate (burst 1), a ceiling that never binds while the
// shared schedule works and keeps one process within the quota if it does
// not (its Redis keys lost mid-run, say).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Config sets the quota and the pacing. Zero values take the defaults.
type Config struct {
	// PerSecond is the account's quota per endpoint (default 10). < 0 turns
	// limiting off (for benchmarks against a simulator without a quota).
	PerSecond float64
	// Headroom is the fraction of the quota kept free (default 0.01: at a
	// quota of 10/s one call every 101 ms, so that eleven calls span 1.01 s
	// and the gateway's sliding one-second window still holds ten when a
	// request arrives up to 10 ms out of step with the one ten before it).
	// < 0 means none.
	Headroom float64
	// Adapt sets how the pace backs off on 429s and recovers.
	Adapt Adapt
	// Backoff is a gap inserted in the shared schedule once per throttling
	// episode (default none). A 429 is not counted by the gateway, so the
	// window it met stays full but no fuller: the lasting answer to
	// throttling is the lower pace (see Adapt), and a gap costs calls.
	Backoff time.Duration
	// Horizon is how far ahead of its slot a call reserves it (default
	// 300 ms, at least Lead + 50 ms). A longer horizon keeps a slot ready
	// despite slow Redis round trips; a shorter one applies a new pace sooner.
	Horizon time.Duration
	// Lead is how long before its slot Wait returns once sends go through
	// Gate (default 100 ms), for the work between the grant and the send (a
	// database write): a call that is not ready at its slot arrives late and
	// may make eleven in a second with the calls after it. Without a Gate,
	// Wait returns at the slot.
	Lead time.Duration
	// MaxLate is how late after its slot a call may still go out (default
	// half the headroom's slack: 5 ms at 1 % headroom, whatever the quota;
	// without headroom 20 ms or a fifth of the spacing); a later one (its process stalled, or the work
	// before the send took longer than Lead) reserves a fresh slot, so that
	// calls held up together do not arrive together. It is bounded by the
	// slack, not by the spacing of slots: with limit+1 calls in a row, the
	// first late by more than the slack and the last on time, the gateway's
	// sliding second holds limit+1 of them (see Config.Slack). The other
	// half of the slack is for the way from the gate to the gateway.
	MaxLate time.Duration
	// Late is told each time a call woke more than MaxLate after its slot
	// and takes a fresh one (that slot goes unused): a metric, say. Nil: not
	// told.
	Late func(pipeline.Endpoint)
	// CallKey names the call a context belongs to, so that Gate finds the
	// slot Wait reserved for it (default: the asynq task ID).
	CallKey func(context.Context) (string, bool)
	// Now is the clock dating throttling episodes (default time.Now); tests
	// inject one. Slots are timed on the real clock.
	Now func() time.Time
	// Prefix namespaces the Redis keys (default "ivsbatch:rate:").
	Prefix string
}

func (c Config) withDefaults() Config {
	if c.PerSecond == 0 {
		c.PerSecond = 10
	}
	if c.Headroom == 0 {
		c.Headroom = 0.01
	}
	if c.Headroom < 0 || c.Headroom >= 1 {
		c.Headroom = 0
	}
	c.Adapt = c.Adapt.withDefaults()
	if c.Horizon <= 0 {
		c.Horizon = 300 * time.Millisecond
	}
	if c.Lead <= 0 {
		c.Lead = 100 * time.Millisecond
	}
	c.Horizon = max(c.Horizon, c.Lead+50*time.Millisecond)
	if c.MaxLate <= 0 {
		c.MaxLate = c.Slack() / 2
		if c.MaxLate <= 0 && c.PerSecond > 0 {
			// No headroom, no slack: 20 ms, or a fifth of the spacing at
			// a low quota, as good as any.
			interval := time.Duration(float64(time.Second) / c.PerSecond)
			c.MaxLate = max(20*time.Millisecond, interval/5)
		}
	}
	if c.CallKey == nil {
		c.CallKey = asynq.GetTaskID
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Prefix == "" {
		c.Prefix = "ivsbatch:rate:"
	}
	return c
}

// Slack is how far out of step with their slots calls may arrive before
// the gateway's sliding one-second window holds more than the quota: the
// quota's limit+1 consecutive slots (limit = the whole calls per second the
// gateway allows, at least 1) span limit × the interval between slots,
// longer than a second by the slack. 0 without headroom or without a quota.
func (c Config) Slack() time.Duration {
	if c.PerSecond <= 0 || c.Headroom <= 0 || c.Headroom >= 1 {
		return 0
	}
	limit := max(1, math.Floor(c.PerSecond))
	interval := float64(time.Second) / (c.PerSecond * (1 - c.Headroom))
	return max(0, time.Duration(limit*interval)-time.Second)
}

// Limiter implements pipeline.Limiter.
type Limiter struct {
	rdb redis.UniversalClient
	cfg Config

	clock clockSync   // the Redis clock, seen from here
	gated atomic.Bool // a Gate holds sends until their slot
	mu    sync.Mutex
	turns map[pipeline.Endpoint]chan struct{} // one reserving caller per endpoint
	slots map[string]time.Time                // call key + endpoint → reserved slot, for Gate
	local map[pipeline.Endpoint]*rate.Limiter // this process's ceiling per endpoint (see the package doc)
	now   func() time.Time                    // the clock a call's lateness is read on (tests stall it)
}

// ceiling waits for this process's own limiter of ep: the quota, burst 1.
func (l *Limiter) ceiling(ctx context.Context, ep pipeline.Endpoint) error {
	l.mu.Lock()
	lim, ok := l.local[ep]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.cfg.PerSecond), 1)
		l.local[ep] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}

// The Redis keys of an endpoint: its schedule (the next free slot) and the
// shared AIMD state.
func (l *Limiter) nextKey(ep pipeline.Endpoint) string  { return l.cfg.Prefix + "next:" + string(ep) }
func (l *Limiter) adaptKey(ep pipeline.Endpoint) string { return l.cfg.Prefix + "adapt:" + string(ep) }

// New returns a limiter sharing its state through rdb.
func New(rdb redis.UniversalClient, cfg Config) *Limiter {
	return &Limiter{rdb: rdb, cfg: cfg.withDefaults(), turns: map[pipeline.Endpoint]chan struct{}{}, slots: map[string]time.Time{},
		local: map[pipeline.Endpoint]*rate.Limiter{}, now: time.Now}
}

// Rate returns the full pace (calls per second) per endpoint: the quota less
// the headroom. The pace in force is Rate × the shared factor (CurrentRate).
func (l *Limiter) Rate() float64 {
	if l.cfg.PerSecond < 0 {
		return math.Inf(1)
	}
	return l.cfg.PerSecond * (1 - l.cfg.Headroom)
}

// CurrentRate returns the pace in force on ep (calls per second): Rate
// times the shared factor, after any back-off and recovery.
func (l *Limiter) CurrentRate(ctx context.Context, ep pipeline.Endpoint) (float64, error) {
	if l.cfg.PerSecond < 0 {
		return math.Inf(1), nil
	}
	s, err := l.adaptState(ctx, ep)
	if err != nil {
		return 0, err
	}
	return l.Rate() * l.cfg.Adapt.factor(s, l.cfg.Now()), nil
}

// Wait blocks until a call to ep may go out: it reserves the next slot of
// ep's shared schedule and returns at it (Lead before it when gated).
func (l *Limiter) Wait(ctx context.Context, ep pipeline.Endpoint) error {
	if l.cfg.PerSecond < 0 {
		return nil
	}
	at, err := l.reserve(ctx, ep)
	if err != nil {
		return err
	}
	if l.gated.Load() {
		if key, ok := l.cfg.CallKey(ctx); ok {
			l.keepSlot(key, ep, at)
			return sleep(ctx, time.Until(at.Add(-l.cfg.Lead)))
		}
	}
	return l.await(ctx, ep, at)
}

// await sleeps until the slot at and this process's ceiling; when it
// wakes more than MaxLate after the slot, it reserves a fresh slot and waits
// for that one instead, as often as it takes (each costs one slot of the
// schedule, a call sent late can cost a 429), until ctx ends.
func (l *Limiter) await(ctx context.Context, ep pipeline.Endpoint, at time.Time) error {
	for {
		if err := sleep(ctx, time.Until(at)); err != nil {
			return err
		}
		if err := l.ceiling(ctx, ep); err != nil {
			return err
		}
		if l.now().Sub(at) <= l.cfg.MaxLate {
			return nil
		}
		if l.cfg.Late != nil {
			l.cfg.Late(ep)
		}
		var err error
		if at, err = l.reserve(ctx, ep); err != nil {
			return err
		}
	}
}

// reserve takes ep's turn in this process and reserves the next slot at
// most Horizon ahead, polling until one is that close.
func (l *Limiter) reserve(ctx context.Context, ep pipeline.Endpoint) (time.Time, error) {
	turn := l.turn(ep)
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	defer func() { <-turn }()
	for {
		s, err := l.adaptState(ctx, ep)
		if err != nil {
			return time.Time{}, err
		}
		interval := time.Duration(float64(time.Second) / (l.Rate() * l.cfg.Adapt.factor(s, l.cfg.Now())))
		at, retry, err := l.reserveSlot(ctx, ep, interval)
		if err != nil {
			return time.Time{}, err
		}
		if retry == 0 {
			return at, nil
		}
		if err := sleep(ctx, retry); err != nil {
			return time.Time{}, err
		}
	}
}

func (l *Limiter) turn(ep pipeline.Endpoint) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.turns[ep]
	if !ok {
		t = make(chan struct{}, 1)
		l.turns[ep] = t
	}
	return t
}

// adaptState reads ep's shared AIMD state.
func (l *Limiter) adaptState(ctx context.Context, ep pipeline.Endpoint) (adaptState, error) {
	vals, err := l.rdb.HMGet(ctx, l.adaptKey(ep), "f", "t").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return adaptState{}, fmt.Errorf("ratelimit: read state: %w", err)
	}
	return stateOf(vals), nil
}

func stateOf(vals []any) adaptState {
	var f, t string
	if len(vals) == 2 {
		f, _ = vals[0].(string)
		t, _ = vals[1].(string)
	}
	return decodeState(f, t)
}

// Throttled lowers the shared pace on ep (and shifts its schedule by
// Backoff, if set), once per episode however many calls and processes report it (see Adapt).
// Errors are dropped: the back-off is best effort, the 429 itself is retried
// by the caller.
func (l *Limiter) Throttled(ctx context.Context, ep pipeline.Endpoint) {
	if l.cfg.PerSecond < 0 {
		return
	}
	if changed, err := l.backOff(ctx, ep); err == nil && changed && l.cfg.Backoff > 0 {
		_ = l.shift(ctx, ep, l.cfg.Backoff)
	}
}

// backOff applies one AIMD decrease to ep's shared state, atomically
// (WATCH/MULTI: a concurrent change by another process is retried), and
// reports whether this call started a new episode.
func (l *Limiter) backOff(ctx context.Context, ep pipeline.Endpoint) (bool, error) {
	key := l.adaptKey(ep)
	for range 5 {
		changed := false
		err := l.rdb.Watch(ctx, func(tx *redis.Tx) error {
			vals, err := tx.HMGet(ctx, key, "f", "t").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			next, ok := l.cfg.Adapt.throttled(stateOf(vals), l.cfg.Now())
			if !ok {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, next.encode())
				p.Expire(ctx, key, time.Hour)
				return nil
			})
			changed = err == nil
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return changed, err
		}
	}
	return false, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
