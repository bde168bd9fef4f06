package ratelimit

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The AIMD arithmetic: full pace until a 429; one decrease per episode; a
// linear recovery back to full pace; never under Min.
func TestAdaptArithmetic(t *testing.T) {
	a := Adapt{Decrease: 0.9, Increase: 0.02, RecoverEvery: 10 * time.Second, Cooldown: 2 * time.Second, Min: 0.7}.withDefaults()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s adaptState
	if f := a.factor(s, t0); f != 1 {
		t.Fatalf("initial factor %v; want 1", f)
	}
	s, changed := a.throttled(s, t0)
	if !changed || !near(a.factor(s, t0), 0.9) {
		t.Fatalf("after a 429: %v %v; want 0.9", a.factor(s, t0), changed)
	}
	if _, changed := a.throttled(s, t0.Add(1500*time.Millisecond)); changed {
		t.Fatal("a 429 within the cooldown decreased again")
	}
	if f := a.factor(s, t0.Add(9*time.Second)); !near(f, 0.9) {
		t.Fatalf("recovered before RecoverEvery: %v", f)
	}
	if f := a.factor(s, t0.Add(30*time.Second)); !near(f, 0.96) {
		t.Fatalf("after 30 s: %v; want 0.96", f)
	}
	if f := a.factor(s, t0.Add(time.Hour)); f != 1 {
		t.Fatalf("after an hour: %v; want 1", f)
	}
	// A second episode starts from the recovered factor.
	s2, _ := a.throttled(s, t0.Add(30*time.Second))
	if f := a.factor(s2, t0.Add(30*time.Second)); !near(f, 0.96*0.9) {
		t.Fatalf("second episode: %v; want %v", f, 0.96*0.9)
	}
	// Sustained throttling stops at Min.
	for i := range 20 {
		s2, _ = a.throttled(s2, t0.Add(time.Minute+time.Duration(i)*3*time.Second))
	}
	if f := a.factor(s2, s2.At); !near(f, 0.7) {
		t.Fatalf("floor: %v; want 0.7", f)
	}
	if d := decodeState("", ""); d != (adaptState{}) {
		t.Fatalf("missing state decoded as %+v", d)
	}
}

// Two processes share the back-off through Redis: a 429 reported by both
// (the same episode) lowers the common pace once, the other endpoint keeps
// its pace, and the pace climbs back to the quota as time passes without
// throttling.
func TestAdaptSharedThroughRedis(t *testing.T) {
	addr := testenv.Redis(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{PerSecond: 10, Headroom: -1, Backoff: time.Millisecond, Now: clk.Now,
		Adapt: Adapt{Decrease: 0.8, Increase: 0.05, RecoverEvery: 5 * time.Second, Cooldown: 2 * time.Second}}
	var lims []*Limiter
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		lims = append(lims, New(rdb, cfg))
	}
	rateOf := func(l *Limiter, ep pipeline.Endpoint) float64 {
		t.Helper()
		r, err := l.CurrentRate(ctx, ep)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := rateOf(lims[0], pipeline.EndpointStandard); r != 10 {
		t.Fatalf("initial pace %v; want the quota, 10", r)
	}
	lims[0].Throttled(ctx, pipeline.EndpointStandard)
	clk.Add(500 * time.Millisecond)
	lims[1].Throttled(ctx, pipeline.EndpointStandard) // same episode
	for i, l := range lims {
		if r := rateOf(l, pipeline.EndpointStandard); !near(r, 8) {
			t.Fatalf("process %d: pace after the episode %v; want 8", i, r)
		}
	}
	if r := rateOf(lims[1], pipeline.EndpointExtention); r != 10 {
		t.Fatalf("the other endpoint slowed down: %v", r)
	}
	clk.Add(10 * time.Second) // two recovery steps since the decrease
	if r := rateOf(lims[1], pipeline.EndpointStandard); !near(r, 9) {
		t.Fatalf("pace after 10.5 s: %v; want 9", r)
	}
	lims[1].Throttled(ctx, pipeline.EndpointStandard) // a new episode, from 0.9
	if r := rateOf(lims[0], pipeline.EndpointStandard); !near(r, 7.2) {
		t.Fatalf("pace after a second episode: %v; want 7.2", r)
	}
	clk.Add(time.Minute)
	if r := rateOf(lims[0], pipeline.EndpointStandard); r != 10 {
		t.Fatalf("pace a minute later: %v; want the quota again", r)
	}
}

// Wait paces at the adapted rate: after a back-off to half the quota, grants
// come at about half the rate (real time; the clock only dates the episode).
func TestWaitFollowsAdaptedPace(t *testing.T) {
	addr := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	l := New(rdb, Config{PerSecond: 20, Backoff: time.Millisecond, MaxLate: 50 * time.Millisecond, // late wake-ups are not this test's subject
		Adapt: Adapt{Decrease: 0.5, Min: 0.5, RecoverEvery: time.Hour}})
	l.Throttled(ctx, pipeline.EndpointStandard)
	time.Sleep(5 * time.Millisecond) // the hold
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	n := 0
	for l.Wait(ctx, pipeline.EndpointStandard) == nil {
		n++
	}
	// 10/s for 2 s, plus the first grant: at most 21; the full 20/s would give ~40.
	if n > 21 || n < 15 {
		t.Fatalf("%d grants in 2 s after backing off to 10/s", n)
	}
}
