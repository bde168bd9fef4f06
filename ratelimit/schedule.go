package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// reserveScript reserves the next slot of a schedule: KEYS[1] holds the
// next free slot (µs, Redis clock); ARGV are the interval and the horizon
// (µs). It returns {1, the slot, now} (the slot is taken and the next one is
// interval later), or {0, µs until the slot is within the horizon, now}.
// A slot is never earlier than now: an idle schedule does not bank slots,
// so calls never bunch up.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local interval, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
if slot - now > horizon then
	return {0, slot - horizon - now, now}
end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', 60000 + math.floor((slot - now + interval) / 1000))
return {1, slot, now}
`)

// shiftScript moves a schedule's next free slot ARGV[1] µs later (from now
// if the schedule is idle).
var shiftScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0')) + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', slot), 'PX', 60000 + math.floor((slot - now) / 1000))
return 1
`)

// reserveSlot runs reserveScript on ep's schedule. It returns the slot's
// time on the local clock (see clockSync), or how long to wait before trying
// again.
func (l *Limiter) reserveSlot(ctx context.Context, ep pipeline.Endpoint, interval time.Duration) (at time.Time, retry time.Duration, err error) {
	sent := time.Now()
	res, err := reserveScript.Run(ctx, l.rdb, []string{l.nextKey(ep)}, interval.Microseconds(), l.cfg.Horizon.Microseconds()).Int64Slice()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("ratelimit: reserve a slot: %w", err)
	}
	received := time.Now()
	if len(res) != 3 {
		return time.Time{}, 0, fmt.Errorf("ratelimit: reserve a slot: unexpected reply %v", res)
	}
	offset := l.clock.sample(sent, received, res[2])
	if res[0] == 0 {
		return time.Time{}, max(time.Duration(res[1])*time.Microsecond, time.Millisecond), nil
	}
	return received.Add(time.Duration(res[1]-offset-received.UnixMicro()) * time.Microsecond), 0, nil
}

// clockSync estimates the Redis clock's offset from the local one, so that
// a slot dated by Redis is kept on time locally. Each round trip bounds the
// moment Redis read its clock; the estimate comes from the shortest recent
// round trip (the tightest bound), as NTP does: one reply delayed by a busy
// connection pool or scheduler must not move the schedule.
type clockSync struct {
	mu     sync.Mutex
	offset int64         // µs, Redis clock − local wall clock
	rtt    time.Duration // of the sample it came from
	at     time.Time     // when that sample was taken
}

// clockSampleAge is how long a sample is preferred to worse ones.
const clockSampleAge = 5 * time.Second

// sample takes one round trip (sent, received, and the Redis clock read in
// between, µs) into account and returns the offset estimate.
func (c *clockSync) sample(sent, received time.Time, redisNow int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	rtt := received.Sub(sent)
	if c.at.IsZero() || rtt <= c.rtt || received.Sub(c.at) > clockSampleAge {
		c.offset = redisNow - sent.Add(rtt/2).UnixMicro()
		c.rtt, c.at = rtt, received
	}
	return c.offset
}

// shift moves ep's schedule d later: no slot is handed out in the next d.
func (l *Limiter) shift(ctx context.Context, ep pipeline.Endpoint, d time.Duration) error {
	if err := shiftScript.Run(ctx, l.rdb, []string{l.nextKey(ep)}, d.Microseconds()).Err(); err != nil {
		return fmt.Errorf("ratelimit: shift the schedule: %w", err)
	}
	return nil
}
