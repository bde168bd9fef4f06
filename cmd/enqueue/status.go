package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func status(ctx context.Context, args []string) error {
	fs := cli.NewFlags("enqueue status", "-batch ID [-wait [-interval 2s] [-timeout 0]]",
		`Prints a batch's counts by status, verdict and error code, and its rate and
ETA from its own progress. With -wait, reports every -interval until every
record is final; with -timeout, gives up after that long with exit 3.`)
	batch := fs.Int64("batch", 0, "batch id (printed by submit); required")
	wait := fs.Bool("wait", false, "keep reporting until every record has its final outcome")
	every := fs.Duration("interval", 2*time.Second, "how often to report with -wait")
	timeout := fs.Duration("timeout", 0, "with -wait, give up after this long (exit 3); 0 waits forever")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return cli.Usagef(fs, "-batch is required")
	}
	if *every <= 0 || *timeout < 0 {
		return cli.Usagef(fs, "-interval must be positive and -timeout not negative")
	}
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Store)
	if err != nil {
		return err
	}
	defer env.Close()
	st := env.Store
	var deadline time.Time
	if *timeout > 0 {
		deadline = time.Now().Add(*timeout)
	}
	for {
		bs, err := st.GetBatchStatus(ctx, *batch)
		if err != nil {
			return err
		}
		code, reason, paused, err := st.Paused(ctx)
		if err != nil {
			return err
		}
		open := bs.Counts.Open()
		if !*wait || open == 0 {
			printStatus(bs, paused, code, reason)
			return nil
		}
		line := fmt.Sprintf("batch %d: %d/%d final, %.1f records/s", bs.Batch.ID, bs.Counts.Total-open, bs.Counts.Total, bs.Rate())
		if eta := bs.ETA(); eta > 0 {
			line += ", ETA " + eta.Round(time.Second).String()
		}
		if paused {
			line += fmt.Sprintf(" — PAUSED (%s: %s); run `worker resume` when resolved", sink.Terminal(code), sink.Terminal(reason))
		}
		fmt.Println(line)
		if !deadline.IsZero() && time.Now().After(deadline) {
			printStatus(bs, paused, code, reason)
			return exitCode(3)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*every):
		}
	}
}

func printStatus(bs store.BatchStatus, paused bool, code, reason string) {
	fmt.Printf("batch %d \"%s\" (%s), %d records\n", bs.Batch.ID, sink.Terminal(bs.Batch.Name), bs.Batch.CreatedAt.Format(time.RFC3339), bs.Counts.Total)
	if paused {
		fmt.Printf("  IVS traffic PAUSED: %s: %s\n", sink.Terminal(code), sink.Terminal(reason))
	}
	fmt.Println("  by status:")
	for _, s := range pipeline.StatusDisplayOrder {
		if n := bs.Counts.ByStatus[s]; n > 0 {
			fmt.Printf("    %-10s %d\n", s, n)
		}
	}
	printMap("by verdict:", bs.VerdictCounts())
	printMap("by error code (no verdict):", bs.ByError)
	if bs.Rate() > 0 {
		fmt.Printf("  rate: %.1f records/s (the batch's own calls, last minute)", bs.Rate())
		if eta := bs.ETA(); eta > 0 {
			fmt.Printf(", ETA %s", eta.Round(time.Second))
		}
		fmt.Println()
	}
}

func printMap(title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Println("  " + title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Printf("    %-24s %d\n", sink.Terminal(k), m[k])
	}
}
