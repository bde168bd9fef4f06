// Package ratelimit paces IVS calls so that every worker process together
// stays under the account's quota: a GCRA limiter shared through Redis
// (redis_rate, on the go-redis client asynq uses) decides, and a local
// golang.org/x/time/rate limiter smooths each process so that it does not
// hammer Redis. After a 429 every process holds back for a moment.
package ratelimit

import (
	"context"
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
	// Headroom is the fraction of the quota kept free for clock and network
	// jitter between the limiter and the gateway (default 0.05).
	Headroom float64
	// Prefix namespaces the Redis keys (default "ivsbatch:rate:").
	Prefix string
	// Backoff is how long every process holds back after a 429 (default 1 s).
	Backoff time.Duration
}

// Limiter implements pipeline.Limiter.
type Limiter struct {
	rdb   redis.UniversalClient
	gcra  *redis_rate.Limiter
	cfg   Config
	limit redis_rate.Limit

	mu    sync.Mutex
	local map[ivs.Endpoint]*rate.Limiter
}

// New returns a limiter sharing its state through rdb.
func New(rdb redis.UniversalClient, cfg Config) *Limiter {
	if cfg.PerSecond == 0 {
		cfg.PerSecond = 10
	}
	if cfg.Headroom == 0 {
		cfg.Headroom = 0.05
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ivsbatch:rate:"
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Second
	}
	l := &Limiter{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), cfg: cfg, local: map[ivs.Endpoint]*rate.Limiter{}}
	if cfg.PerSecond > 0 {
		// GCRA with burst 1: one request every period/rate, never a burst
		// that a sliding one-second window would count against the quota.
		// redis_rate wants an integer rate, so the period stretches instead.
		eff := cfg.PerSecond * (1 - cfg.Headroom)
		n := int(math.Ceil(cfg.PerSecond))
		l.limit = redis_rate.Limit{Rate: n, Burst: 1, Period: time.Duration(float64(time.Second) * float64(n) / eff)}
	}
	return l
}

// Rate returns the effective limit (calls per second) per endpoint.
func (l *Limiter) Rate() float64 {
	if l.cfg.PerSecond <= 0 {
		return math.Inf(1)
	}
	return float64(l.limit.Rate) / l.limit.Period.Seconds()
}

func (l *Limiter) localFor(ep ivs.Endpoint) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.local[ep]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.Rate()), 1)
		l.local[ep] = lim
	}
	return lim
}

// Wait blocks until a call to ep may go out.
func (l *Limiter) Wait(ctx context.Context, ep ivs.Endpoint) error {
	if l.cfg.PerSecond <= 0 {
		return nil
	}
	if err := l.localFor(ep).Wait(ctx); err != nil {
		return fmt.Errorf("ratelimit: local: %w", err)
	}
	for {
		if ttl, err := l.rdb.PTTL(ctx, l.cfg.Prefix+"hold:"+string(ep)).Result(); err == nil && ttl > 0 {
			if err := sleep(ctx, ttl); err != nil {
				return err
			}
			continue
		}
		res, err := l.gcra.Allow(ctx, l.cfg.Prefix+string(ep), l.limit)
		if err != nil {
			return fmt.Errorf("ratelimit: shared limiter: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		if err := sleep(ctx, res.RetryAfter); err != nil {
			return err
		}
	}
}

// Throttled makes every process hold back on ep for the configured backoff.
func (l *Limiter) Throttled(ctx context.Context, ep ivs.Endpoint) {
	_ = l.rdb.Set(ctx, l.cfg.Prefix+"hold:"+string(ep), "1", l.cfg.Backoff).Err()
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
