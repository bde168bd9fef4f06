// Command demo prepares and reports the sample batch that `make demo`
// (scripts/demo.sh) runs end to end:
//
//	demo prepare -out .run/demo -bucket ivsbatch-demo   # population, media upload, manifest
//	demo ensure-db                                      # create the database if missing, migrate
//	demo report -out .run/demo -batch N                 # outcome table, expected vs stored
//	demo ledger                                         # the simulator's billing ledger (IVS_ENDPOINT)
//	demo freeport                                       # print a free TCP port on 127.0.0.1
//
// Servers come from the environment (IVSBATCH_DATABASE_URL, IVSBATCH_S3_ENDPOINT,
// AWS_ACCESS_KEY_ID, ...), as for the other commands.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: demo prepare|ensure-db|report|ledger|freeport [flags]")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "prepare":
		return prepare(ctx, args[1:], out, log)
	case "ensure-db":
		return ensureDB(ctx, args[1:], out)
	case "report":
		return report(ctx, args[1:], out)
	case "ledger":
		return ledger(ctx, out)
	case "freeport":
		return freePort(out)
	}
	return fmt.Errorf("unknown subcommand %q: want prepare, ensure-db, report, ledger or freeport", args[0])
}

// getenv returns the environment variable key, or def when it is empty.
func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultDatabaseURL is the project's agreed default (API.md).
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/ivsbatch?sslmode=disable"

// freePort prints a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(out io.Writer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	fmt.Fprintln(out, l.Addr().(*net.TCPAddr).Port)
	return nil
}
