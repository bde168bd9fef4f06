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

	"github.com/ivsbatch/ivsbatch/internal/cli"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	out := os.Stdout
	cli.Main("demo", []cli.Command{
		{Name: "prepare", Summary: "population, media (S3 or files), registry.jsonl, manifest and expected.json",
			Run: func(ctx context.Context, args []string) error { return prepare(ctx, args, out, log) }},
		{Name: "ensure-db", Summary: "create the database of IVSBATCH_DATABASE_URL if missing, and migrate it",
			Run: func(ctx context.Context, args []string) error { return ensureDB(ctx, args, out) }},
		{Name: "report", Summary: "-batch N: every record's outcome next to the expected one (exit 1 on a difference)",
			Run: func(ctx context.Context, args []string) error { return report(ctx, args, out) }},
		{Name: "ledger", Summary: "the simulator's billing ledger (IVS_ENDPOINT)",
			Run: func(ctx context.Context, args []string) error { return ledger(ctx, args, out) }},
		{Name: "freeport", Summary: "print a free TCP port on 127.0.0.1",
			Run: func(_ context.Context, args []string) error { return freePort(args, out) }},
	}, `Servers come from the environment (IVSBATCH_DATABASE_URL, IVSBATCH_S3_ENDPOINT,
AWS_ACCESS_KEY_ID, ...), as for the other commands. make demo runs them all.
`)
}

// freePort prints a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(args []string, out io.Writer) error {
	fs := cli.NewFlags("demo freeport", "", "Prints a TCP port that was free on 127.0.0.1 a moment ago (for scripts).")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	fmt.Fprintln(out, l.Addr().(*net.TCPAddr).Port)
	return nil
}
