package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RedisLogsTo sends go-redis's own messages (connection pool retries, "failed
// to dial" …) to log at DEBUG instead of the terminal: a command reports an
// unreachable Redis once, as its error.
func RedisLogsTo(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
