package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newTestLimiter returns a limiter on a fresh Redis server, and its client.
func newTestLimiter(t *testing.T, cfg Config) (*Limiter, redis.UniversalClient) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	return New(rdb, cfg), rdb
}

// next reads ep's next free slot (µs on the Redis clock).
func next(t *testing.T, l *Limiter, rdb redis.UniversalClient, ep pipeline.Endpoint) int64 {
	t.Helper()
	v, err := rdb.Get(context.Background(), l.nextKey(ep)).Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("next slot %q: %v", v, err)
	}
	return n
}

// redisNow reads the Redis clock (µs).
func redisNow(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now.UnixMicro()
}

// Each reservation takes the next slot, exactly one interval after the one
// before, however fast the calls come; no slot is handed out further ahead
// than the horizon; an idle schedule starts again from now instead of
// handing out the slots it missed (burst 1: calls never bunch up).
func TestScheduleSpacesSlots(t *testing.T) {
	ctx := context.Background()
	l, rdb := newTestLimiter(t, Config{PerSecond: 10, Horizon: 3500 * time.Millisecond})
	ep := pipeline.EndpointStandard
	if err := rdb.Set(ctx, l.nextKey(ep), "1", 0).Err(); err != nil { // long idle
		t.Fatal(err)
	}
	var prev int64
	for i := range 4 {
		_, retry, err := l.reserveSlot(ctx, ep, time.Second)
		if err != nil || retry != 0 {
			t.Fatalf("reservation %d: retry %s, %v", i, retry, err)
		}
		n := next(t, l, rdb, ep)
		if i == 0 {
			if d := n - redisNow(t, rdb); d <= 0 || d > time.Second.Microseconds() {
				t.Fatalf("after an idle spell the next slot is %d µs from now; want within one interval", d)
			}
		} else if n-prev != time.Second.Microseconds() {
			t.Fatalf("reservation %d moved the schedule by %d µs; want one interval", i, n-prev)
		}
		prev = n
	}
	// The fifth slot is 4 s ahead, beyond the 3.5 s horizon.
	_, retry, err := l.reserveSlot(ctx, ep, time.Second)
	if err != nil || retry <= 0 || retry > 500*time.Millisecond {
		t.Fatalf("beyond the horizon: retry %s, %v; want a wait of at most 500 ms", retry, err)
	}
	if n := next(t, l, rdb, ep); n != prev {
		t.Fatal("a refused reservation moved the schedule")
	}
	// The other endpoint has its own schedule.
	if _, retry, err := l.reserveSlot(ctx, pipeline.EndpointExtention, time.Second); err != nil || retry != 0 {
		t.Fatalf("other endpoint: retry %s, %v", retry, err)
	}
}

// A 429 shifts the shared schedule by Backoff once per episode: reports of
// the same episode (any process) do not add up.
func TestThrottledShiftsOncePerEpisode(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{PerSecond: 10, Backoff: 5 * time.Second, Now: clk.Now}
	a, rdb := newTestLimiter(t, cfg)
	b := New(rdb, cfg) // a second process
	ep := pipeline.EndpointExtention
	a.Throttled(ctx, ep)
	first := next(t, a, rdb, ep)
	if d := first - redisNow(t, rdb); d <= 4*time.Second.Microseconds() || d > 5*time.Second.Microseconds() {
		t.Fatalf("after a 429 the next slot is %d µs away; want the 5 s backoff", d)
	}
	clk.Add(time.Second)
	b.Throttled(ctx, ep) // same episode
	if n := next(t, a, rdb, ep); n != first {
		t.Fatalf("a second report of the episode shifted the schedule by %d µs", n-first)
	}
	clk.Add(2 * time.Second) // past the cooldown: a new episode
	b.Throttled(ctx, ep)
	if n := next(t, a, rdb, ep); n-first != 5*time.Second.Microseconds() {
		t.Fatalf("a new episode shifted the schedule by %d µs; want 5 s", n-first)
	}
	// 1 % headroom; 0.98 after the first episode, 0.99 after one recovery
	// step, then 0.98 of that.
	want := 10 * 0.99 * 0.99 * 0.98
	if r, err := a.CurrentRate(ctx, ep); err != nil || !near(r, want) {
		t.Fatalf("pace after two episodes %v, %v; want %v", r, err, want)
	}
}

type callKey struct{}

func withCall(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, callKey{}, key)
}

func keyOf(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(callKey{}).(string)
	return k, ok
}

// recorder is a Verifier that notes when each call went out.
type recorder struct{ sent []time.Time }

func (r *recorder) Verify(context.Context, pipeline.Call) (*pipeline.Reply, error) {
	r.sent = append(r.sent, time.Now())
	return &pipeline.Reply{HTTPStatus: 200}, nil
}

func (r *recorder) RefreshAuth(context.Context) error { return nil }

// Through a Gate, Wait returns Lead before the call's slot and the call
// goes out at the slot, not before; a call that Wait did not name goes out
// at once.
func TestGateHoldsCallUntilItsSlot(t *testing.T) {
	ctx := context.Background()
	l, _ := newTestLimiter(t, Config{PerSecond: 1, Headroom: -1, Lead: 500 * time.Millisecond,
		Horizon: 2 * time.Second, CallKey: keyOf})
	rec := &recorder{}
	v := l.Gate(rec)
	ep := pipeline.EndpointStandard
	call := pipeline.Call{Shape: pipeline.ShapeNameFaceImage} // to the standard endpoint
	if err := l.Wait(withCall(ctx, "a"), ep); err != nil {    // takes the slot now
		t.Fatal(err)
	}
	if err := l.Wait(withCall(ctx, "b"), ep); err != nil { // the slot 1 s later
		t.Fatal(err)
	}
	returned := time.Now()
	at, ok := l.slots[string(ep)+" b"]
	if !ok {
		t.Fatal("no slot kept for call b")
	}
	if !returned.Before(at) {
		t.Fatalf("Wait returned %s after the slot; want Lead (500 ms) before it", returned.Sub(at))
	}
	if _, err := v.Verify(withCall(ctx, "b"), call); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 1 || rec.sent[0].Before(at) {
		t.Fatalf("call b went out %s before its slot", at.Sub(rec.sent[0]))
	}
	if _, ok := l.slots[string(ep)+" b"]; ok {
		t.Fatal("the slot was kept after its call went out")
	}
	if _, err := v.Verify(ctx, call); err != nil || len(rec.sent) != 2 {
		t.Fatalf("unnamed call: %v, %d calls made", err, len(rec.sent))
	}
}

// Without a Gate, Wait returns at the slot itself.
func TestWaitWithoutGateReturnsAtTheSlot(t *testing.T) {
	ctx := withCall(context.Background(), "a")
	l, _ := newTestLimiter(t, Config{PerSecond: 2, Headroom: -1, CallKey: keyOf})
	ep := pipeline.EndpointStandard
	start := time.Now()
	for range 2 {
		if err := l.Wait(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	// The slot is 500 ms after the first; the local clock may place it a
	// round trip early.
	if waited := time.Since(start); waited < 450*time.Millisecond {
		t.Fatalf("second grant after %s; the slot is 500 ms after the first", waited)
	}
	if len(l.slots) != 0 {
		t.Fatal("an ungated limiter kept slots")
	}
}

// The clock offset comes from the tightest round trip: a slow reply does
// not move it, a faster one refines it, and an old sample gives way.
func TestClockSyncKeepsTightestSample(t *testing.T) {
	var c clockSync
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const skew = 7000 // µs: the Redis clock is 7 ms ahead
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	redisAt := func(d time.Duration) int64 { return at(d).UnixMicro() + skew }
	// Sent at 0, answered at 4 ms; Redis read its clock at 2 ms.
	if off := c.sample(at(0), at(4*time.Millisecond), redisAt(2*time.Millisecond)); off != skew {
		t.Fatalf("offset %d; want %d", off, skew)
	}
	// A reply held up 40 ms on the way back (Redis read at 101 ms).
	if off := c.sample(at(100*time.Millisecond), at(141*time.Millisecond), redisAt(101*time.Millisecond)); off != skew {
		t.Fatalf("a slow reply moved the offset to %d", off)
	}
	// A tighter round trip wins: 1 ms, Redis read at 200.5 ms.
	if off := c.sample(at(200*time.Millisecond), at(201*time.Millisecond), redisAt(200500*time.Microsecond)); off != skew {
		t.Fatalf("offset %d after a tight sample; want %d", off, skew)
	}
	if c.rtt != time.Millisecond {
		t.Fatalf("kept a %s sample; want the 1 ms one", c.rtt)
	}
	// Past clockSampleAge even a looser sample replaces it.
	late := 201*time.Millisecond + clockSampleAge + time.Second
	if off := c.sample(at(late), at(late+10*time.Millisecond), redisAt(late+5*time.Millisecond)+1000); off != skew+1000 {
		t.Fatalf("offset %d after the sample aged; want %d", off, skew+1000)
	}
}

// A call that comes to the gate more than MaxLate after its slot (its
// process stalled) does not go out at once, together with the calls held
// up with it: it reserves a fresh slot.
func TestGateReslotsLateCall(t *testing.T) {
	ctx := context.Background()
	// A tolerance wide enough that the on-time call is on time on a loaded
	// machine, a second short of the late one's lateness.
	var late []pipeline.Endpoint // what Config.Late was told (metrics)
	l, rdb := newTestLimiter(t, Config{PerSecond: 10, CallKey: keyOf, MaxLate: 500 * time.Millisecond,
		Late: func(ep pipeline.Endpoint) { late = append(late, ep) }})
	rec := &recorder{}
	v := l.Gate(rec)
	ep := pipeline.EndpointStandard
	l.keepSlot("late", ep, time.Now().Add(-time.Second))
	l.keepSlot("on-time", ep, time.Now().Add(5*time.Millisecond))
	if _, err := v.Verify(withCall(ctx, "on-time"), pipeline.Call{Shape: pipeline.ShapeNameFaceImage}); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, l.nextKey(ep)).Result(); err != nil || n != 0 || len(late) != 0 {
		t.Fatalf("a call on time reserved another slot (%v; told late %v)", err, late)
	}
	if _, err := v.Verify(withCall(ctx, "late"), pipeline.Call{Shape: pipeline.ShapeNameFaceImage}); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, l.nextKey(ep)).Result(); err != nil || n != 1 {
		t.Fatalf("the late call went out without a fresh slot (%v)", err)
	}
	if len(late) != 1 || late[0] != ep {
		t.Fatalf("Config.Late told %v; want the late call's endpoint once", late)
	}
	if len(rec.sent) != 2 {
		t.Fatalf("%d calls made; want 2", len(rec.sent))
	}
}

// A call whose context ends while the gate holds it is reported as not
// sent (transient), never as a call that may have been billed.
func TestGateCancelledIsNotSent(t *testing.T) {
	l, _ := newTestLimiter(t, Config{PerSecond: 10, CallKey: keyOf})
	rec := &recorder{}
	v := l.Gate(rec)
	l.keepSlot("a", pipeline.EndpointStandard, time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(withCall(context.Background(), "a"))
	cancel()
	_, err := v.Verify(ctx, pipeline.Call{Shape: pipeline.ShapeNameFaceImage})
	if c := pipeline.ClassOf(err); c != pipeline.ClassTransient || len(rec.sent) != 0 {
		t.Fatalf("cancelled in the gate: %v classified %s, %d calls made; want transient, none", err, c, len(rec.sent))
	}
}

// Calls may reach the gateway out of step with their slots by up to
// MaxLate (the gate lets them through) and still never put more than the
// quota into any sliding second: at every quota, the calls held up by a
// stall and released together MaxLate after the first one's slot, with the
// limit+1st call on time, stay within the quota. The slots are the shared schedule's own (Redis arithmetic,
// not timing); the window is counted as the simulator's gateway counts it.
func TestLateCallsStayWithinTheQuota(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	for _, quota := range []float64{1, 10, 50, 200, 1000} {
		cfg := Config{PerSecond: quota, Horizon: time.Hour, Prefix: "late-test:" + strconv.FormatFloat(quota, 'f', -1, 64) + ":"}
		l := New(rdb, cfg)
		cfg = l.cfg
		if cfg.MaxLate > cfg.Slack()/2 {
			t.Errorf("quota %v: MaxLate %s is more than half the headroom's slack %s", quota, cfg.MaxLate, cfg.Slack())
		}
		limit := int(quota)
		interval := time.Duration(float64(time.Second) / l.Rate())
		ep := pipeline.EndpointExtention
		var slots []int64 // µs, Redis clock
		for range 3 * (limit + 1) {
			if _, retry, err := l.reserveSlot(ctx, ep, interval); err != nil || retry != 0 {
				t.Fatalf("quota %v: reserve: retry %s, %v", quota, retry, err)
			}
			slots = append(slots, next(t, l, rdb, ep)-interval.Microseconds())
		}
		// Each block of limit+1 calls starts with a stall: the calls whose
		// slots fell within MaxLate of the block's first slot all go out
		// together, MaxLate after it (late, but not too late for the gate);
		// the others go out on time, the block's last among them.
		var arrivals []time.Time
		for i, s := range slots {
			at := time.UnixMicro(s)
			if stalled := time.UnixMicro(slots[i/(limit+1)*(limit+1)]).Add(cfg.MaxLate); at.Before(stalled) {
				at = stalled
			}
			arrivals = append(arrivals, at)
		}
		if most := busiestSecond(arrivals); most > limit {
			t.Errorf("quota %v, MaxLate %s: %d calls within one second", quota, cfg.MaxLate, most)
		}
	}
}

// busiestSecond counts, for each of the times ts (any order), the times in
// the second up to it, (t − 1 s, t], and returns the most: what a sliding
// one-second window would hold at its fullest.
func busiestSecond(ts []time.Time) int {
	most := 0
	for _, t := range ts {
		n := 0
		for _, u := range ts {
			if !u.After(t) && u.After(t.Add(-time.Second)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// A call that never comes to the gate on time (its process stalled at
// every wake) is never sent: it keeps taking fresh slots, each a slot of
// the schedule lost rather than a call arriving together with the ones
// after it, until its context ends, and is then reported as not sent.
func TestGateNeverSendsAStalledCall(t *testing.T) {
	var late atomic.Int64 // fresh slots taken (Config.Late)
	l, _ := newTestLimiter(t, Config{PerSecond: 50, CallKey: keyOf, Late: func(pipeline.Endpoint) { late.Add(1) }})
	l.now = func() time.Time { return time.Now().Add(time.Hour) } // every wake an hour late
	rec := &recorder{}
	v := l.Gate(rec)
	ep := pipeline.EndpointStandard
	l.keepSlot("stalled", ep, time.Now())
	ctx, cancel := context.WithTimeout(withCall(context.Background(), "stalled"), 2*time.Second)
	defer cancel()
	_, err := v.Verify(ctx, pipeline.Call{Shape: pipeline.ShapeNameFaceImage})
	if c := pipeline.ClassOf(err); c != pipeline.ClassTransient || len(rec.sent) != 0 {
		t.Fatalf("stalled call: %v classified %s, %d calls made; want transient, none", err, c, len(rec.sent))
	}
	// It took more fresh slots than the three after which it used to go out anyway.
	if n := late.Load(); n <= 3 {
		t.Fatalf("the stalled call took %d fresh slots; want it to keep taking them until its context ended", n)
	}
}
