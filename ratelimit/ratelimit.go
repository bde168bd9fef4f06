// Package ratelimit paces IVS calls so that every worker process together
// uses the account's quota: a GCRA limiter shared through Redis (redis_rate,
// on the go-redis client asynq uses) decides, and a local
// golang.org/x/time/rate limiter smooths each process so that it does not
// hammer Redis. A 429 is not billed, so the pace starts at the quota itself;
// after a 429 every process holds back for a moment and the shared pace
// backs off (AIMD, see Adapt), recovering while throttling stays away.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// Config sets the quota. Zero values take defaults.
type Config struct {
	// PerSecond is the account's quota per endpoint (default 10). ≤ 0 turns
	// limiting off (for benchmarks against a simulator without a quota).
	PerSecond float64
	// Headroom is a fraction of the quota kept free (default 0: pace at the
	// quota and let Adapt back off when the gateway throttles).
	Headroom float64
	// Adapt sets how the pace backs off on 429s and recovers.
	Adapt Adapt
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// Prefix namespaces the Redis keys (default "ivsbatch:rate:").
	Prefix string
	// Backoff is how long every process holds back after a 429 (default
	// 200 ms: two calls' time at 10/s; the lasting answer to throttling is
	// the lower pace, see Adapt, and a long hold would waste the quota).
	Backoff time.Duration
}

// Limiter implements pipeline.Limiter.
type Limiter struct {
	rdb  redis.UniversalClient
	gcra *redis_rate.Limiter
	cfg  Config

	mu    sync.Mutex
	local map[ivs.Endpoint]*rate.Limiter
}

// The Redis keys of an endpoint: the GCRA state, the hold after a 429, and
// the shared AIMD state.
func (l *Limiter) gcraKey(ep ivs.Endpoint) string  { return l.cfg.Prefix + string(ep) }
func (l *Limiter) holdKey(ep ivs.Endpoint) string  { return l.cfg.Prefix + "hold:" + string(ep) }
func (l *Limiter) adaptKey(ep ivs.Endpoint) string { return l.cfg.Prefix + "adapt:" + string(ep) }

// New returns a limiter sharing its state through rdb.
func New(rdb redis.UniversalClient, cfg Config) *Limiter {
	if cfg.PerSecond == 0 {
		cfg.PerSecond = 10
	}
	if cfg.Headroom < 0 || cfg.Headroom >= 1 {
		cfg.Headroom = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Adapt = cfg.Adapt.withDefaults()
	if cfg.Prefix == "" {
		cfg.Prefix = "ivsbatch:rate:"
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	return &Limiter{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), cfg: cfg, local: map[ivs.Endpoint]*rate.Limiter{}}
}

// Rate returns the full pace (calls per second) per endpoint: the quota less
// the headroom. The pace in force is Rate × the shared factor (CurrentRate).
func (l *Limiter) Rate() float64 {
	if l.cfg.PerSecond <= 0 {
		return math.Inf(1)
	}
	return l.cfg.PerSecond * (1 - l.cfg.Headroom)
}

// limitAt is the GCRA limit for a pace of factor × Rate: burst 1, one request
// every period/rate, never a burst that a sliding one-second window would
// count against the quota. redis_rate wants an integer rate, so the period
// stretches instead.
func (l *Limiter) limitAt(factor float64) redis_rate.Limit {
	n := int(math.Ceil(l.cfg.PerSecond))
	return redis_rate.Limit{Rate: n, Burst: 1, Period: time.Duration(float64(time.Second) * float64(n) / (l.Rate() * factor))}
}

// localFor returns ep's local smoother, set to pace rps.
func (l *Limiter) localFor(ep ivs.Endpoint, rps float64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.local[ep]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(rps), 1)
		l.local[ep] = lim
	} else if float64(lim.Limit()) != rps {
		lim.SetLimitAt(l.cfg.Now(), rate.Limit(rps))
	}
	return lim
}

// state reads ep's hold (time left) and shared AIMD state in one round trip.
func (l *Limiter) state(ctx context.Context, ep ivs.Endpoint) (time.Duration, adaptState, error) {
	pipe := l.rdb.Pipeline()
	hold := pipe.PTTL(ctx, l.holdKey(ep))
	st := pipe.HMGet(ctx, l.adaptKey(ep), "f", "t")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, adaptState{}, fmt.Errorf("ratelimit: read state: %w", err)
	}
	vals := st.Val()
	var f, t string
	if len(vals) == 2 {
		f, _ = vals[0].(string)
		t, _ = vals[1].(string)
	}
	return hold.Val(), decodeState(f, t), nil
}

// CurrentRate returns the pace in force on ep (calls per second): Rate
// times the shared factor, after any back-off and recovery.
func (l *Limiter) CurrentRate(ctx context.Context, ep ivs.Endpoint) (float64, error) {
	if l.cfg.PerSecond <= 0 {
		return math.Inf(1), nil
	}
	_, s, err := l.state(ctx, ep)
	if err != nil {
		return 0, err
	}
	return l.Rate() * l.cfg.Adapt.factor(s, l.cfg.Now()), nil
}

// Wait blocks until a call to ep may go out.
func (l *Limiter) Wait(ctx context.Context, ep ivs.Endpoint) error {
	if l.cfg.PerSecond <= 0 {
		return nil
	}
	hold, s, err := l.state(ctx, ep)
	if err != nil {
		return err
	}
	factor := l.cfg.Adapt.factor(s, l.cfg.Now())
	if err := l.localFor(ep, l.Rate()*factor).Wait(ctx); err != nil {
		return fmt.Errorf("ratelimit: local: %w", err)
	}
	for {
		if hold <= 0 {
			res, err := l.gcra.Allow(ctx, l.gcraKey(ep), l.limitAt(factor))
			if err != nil {
				return fmt.Errorf("ratelimit: shared limiter: %w", err)
			}
			if res.Allowed > 0 {
				return nil
			}
			hold = res.RetryAfter
		}
		if err := sleep(ctx, hold); err != nil {
			return err
		}
		if hold, s, err = l.state(ctx, ep); err != nil {
			return err
		}
		factor = l.cfg.Adapt.factor(s, l.cfg.Now())
	}
}

// Throttled makes every process hold back on ep for the configured backoff
// and lowers the shared pace (once per episode: see Adapt). Errors are
// dropped: the hold and the back-off are best effort, the 429 itself is
// retried by the caller.
func (l *Limiter) Throttled(ctx context.Context, ep ivs.Endpoint) {
	_ = l.rdb.Set(ctx, l.holdKey(ep), "1", l.cfg.Backoff).Err()
	_ = l.backOff(ctx, ep)
}

// backOff applies one AIMD decrease to ep's shared state, atomically
// (WATCH/MULTI: a concurrent change by another process is retried).
func (l *Limiter) backOff(ctx context.Context, ep ivs.Endpoint) error {
	key := l.adaptKey(ep)
	for range 5 {
		err := l.rdb.Watch(ctx, func(tx *redis.Tx) error {
			vals, err := tx.HMGet(ctx, key, "f", "t").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			var f, t string
			if len(vals) == 2 {
				f, _ = vals[0].(string)
				t, _ = vals[1].(string)
			}
			next, changed := l.cfg.Adapt.throttled(decodeState(f, t), l.cfg.Now())
			if !changed {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, next.encode())
				p.Expire(ctx, key, time.Hour)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
