package worker

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisAddr is the local Redis the scripts use.
const DefaultRedisAddr = "127.0.0.1:6379"

// RedisConfig says how to reach the Redis that holds the queue and the
// shared limiter: one server (plain or TLS) or a primary found through
// Sentinel. Conn is an asynq.RedisClientOpt or asynq.RedisFailoverClientOpt.
type RedisConfig struct {
	Conn    asynq.RedisConnOpt
	Display string // where it points, without credentials (for logs)
}

// NewClient returns a client for c, usable by asynq (NewServerFromRedisClient
// and friends) and by the rate limiter alike. The caller closes it.
func (c RedisConfig) NewClient() redis.UniversalClient {
	return c.Conn.MakeRedisClient().(redis.UniversalClient)
}

// ConnectRedis connects to rc and checks that it answers; an unreachable
// server is an error naming it by its URL, without its password.
func ConnectRedis(ctx context.Context, rc RedisConfig) (redis.UniversalClient, error) {
	rdb := rc.NewClient()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s unreachable: %w", rc.Display, err)
	}
	return rdb, nil
}
