package worker

import (
	"context"
	"time"
)

// RedisMarkerKey is a key of ours (not asynq's) that every feeder keeps in
// Redis. When it is gone, Redis lost its data (FLUSHALL, a restart without
// persistence, a failover to a replica that had not caught up).
const RedisMarkerKey = "ivsbatch:redis-marker"

type markerState struct{ seen bool }

// checkMarker notices that Redis lost its data: the marker this process saw
// (or set) is gone. It then sets it again and makes the enqueuer register
// its queues afresh; the recovery round that follows re-enqueues what
// Postgres says the queue should hold.
func (f *Feeder) checkMarker(ctx context.Context) {
	rdb := f.Enqueuer.Redis
	if rdb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	set, err := rdb.SetNX(ctx, RedisMarkerKey, time.Now().UTC().Format(time.RFC3339), 0).Result()
	if err != nil {
		return // Redis unreachable: the feeder round says so
	}
	if set && f.marker.seen {
		f.Log.Warn("Redis lost its data; re-enqueuing from Postgres", "marker", RedisMarkerKey)
		f.Enqueuer.Reset()
		if f.Lost != nil {
			f.Lost()
		}
	}
	f.marker.seen = true
}
