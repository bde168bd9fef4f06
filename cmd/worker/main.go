// Command worker runs ivsbatch workers and controls the account-wide pause.
//
//	worker run      serve the queue: fetch media, prevalidate, call IVS, store outcomes
//	worker pause    stop all IVS traffic (stored in Postgres, the queue paused)
//	worker resume   lift a pause (after IVS.0014/IVS.0015 were resolved, or an operator pause)
//	worker status   show whether traffic is paused, and why
//
// Configuration comes from the environment (see README.md); credentials are
// never accepted as flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: levelFromEnv()}))
	slog.SetDefault(log)
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = run(ctx, log, args)
	case "pause":
		err = pause(ctx, args)
	case "resume":
		err = resume(ctx, args)
	case "status":
		err = status(ctx, args)
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "worker: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Error("worker failed", "err", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: worker <command> [flags]

commands:
  run      serve the queue until SIGTERM (in-flight records finish or go back to the queue)
  pause    stop all IVS traffic: -reason "why"
  resume   lift the account-wide pause
  status   print whether traffic is paused and why

Run "worker <command> -h" for the flags of a command. Settings and
credentials come from the environment: IVSBATCH_DATABASE_URL,
IVSBATCH_REDIS_ADDR, IVSBATCH_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, IVS_ENDPOINT, IVS_AK/IVS_SK (or *_FILE), IVS_IAM_*.
`)
}

func levelFromEnv() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("IVSBATCH_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
