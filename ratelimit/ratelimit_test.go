package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/ratelimit"
)

// Two limiters (two "processes") sharing one Redis stay under the quota
// together: with a 5 % headroom no one-second window holds more than the
// quota.
func TestSharedLimitAcrossProcesses(t *testing.T) {
	addr := testenv.Redis(t)
	var grants []time.Time
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		lim := ratelimit.New(rdb, ratelimit.Config{PerSecond: 10, Headroom: 0.05})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for lim.Wait(ctx, pipeline.EndpointStandard) == nil {
					mu.Lock()
					grants = append(grants, time.Now())
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(grants) < 18 {
		t.Fatalf("only %d grants in 2.5 s at 10/s: the limiter is too strict", len(grants))
	}
	maxInWindow := 0
	for i := range grants {
		n := 0
		for _, g := range grants {
			if !g.Before(grants[i]) && g.Sub(grants[i]) < time.Second {
				n++
			}
		}
		maxInWindow = max(maxInWindow, n)
	}
	if maxInWindow > 10 {
		t.Fatalf("%d grants within one second; quota is 10", maxInWindow)
	}
}

// After Throttled, no process is granted a call during the hold.
func TestThrottledHoldsEveryone(t *testing.T) {
	addr := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	a := ratelimit.New(rdb, ratelimit.Config{PerSecond: 100, Backoff: 400 * time.Millisecond})
	b := ratelimit.New(rdb, ratelimit.Config{PerSecond: 100, Backoff: 400 * time.Millisecond})
	ctx := context.Background()
	a.Throttled(ctx, pipeline.EndpointExtention)
	start := time.Now()
	if err := b.Wait(ctx, pipeline.EndpointExtention); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("granted after %s, during the 400 ms hold", waited)
	}
	// The other endpoint is not held.
	start = time.Now()
	if err := b.Wait(ctx, pipeline.EndpointStandard); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 200*time.Millisecond {
		t.Fatalf("standard endpoint held for %s", waited)
	}
}
