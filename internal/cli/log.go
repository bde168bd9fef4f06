package cli

import (
	"log/slog"
	"os"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

// ServiceLog is a serving command's logger, at IVSBATCH_LOG_LEVEL: it becomes
// slog's default and receives go-redis's messages. A bad level is returned
// beside the logger (at info) for the serving subcommand to report, so that
// the command's other subcommands still run.
func ServiceLog() (*slog.Logger, error) {
	level, err := envconf.LogLevel(os.Getenv, "IVSBATCH_LOG_LEVEL", slog.LevelInfo)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	RedisLogsTo(log)
	return log, err
}
