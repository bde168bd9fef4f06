package cli

import (
	"log/slog"
	"os"
)

// ServiceLog is a serving command's logger at level, on standard error: it
// becomes slog's default and receives go-redis's messages.
func ServiceLog(level slog.Level) *slog.Logger {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	RedisLogsTo(log)
	return log
}
