// Command ops is the operator's tool for ivsbatch, beside enqueue and worker:
//
//	ops requeue      re-queue records by batch, status, error code, time or ids (-dry-run first)
//	ops reconcile    nightly: repair Postgres ↔ queue drift, report what needs a human (exit 3)
//	ops status       queue state, account pause, per-batch counts, rate, ETA and budget
//	ops batches      batches with state, created/finished times and counts
//	ops find         records across batches by ref or id number (stdin), masked
//	ops review       the review queue; approve, reject or re-verify cases
//	ops pause        hold one batch; ops resume and ops cancel likewise
//	ops budget       cap a batch's billed IVS calls
//	ops prevalidate  which open records would be rejected, without calling IVS
//	ops export       a batch as CSV or xlsx, personal data masked, in a language and time zone
//	ops report       a batch as a self-contained HTML report with charts
//	ops webhooks     endpoints for batch events, the delivery log, replays
//	ops migrate      apply the schema's migrations (nothing else migrates)
//	ops roles        the least-privilege roles, as SQL or applied
//
// Settings come from the environment like enqueue and worker (see README.md).
// Every command that changes something writes an audit_log row, with the
// operator from -operator (default $USER).
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
)

// exitCode ends the process with that code (after printing what was to print).
type exitCode = cli.ExitCode

var commands = []cli.Command{
	{Name: "requeue", Summary: "re-queue records by batch, status, error code, time or ids (-dry-run shows what)", Run: requeue},
	{Name: "reconcile", Summary: "repair Postgres/queue drift; exit 3 when something needs a human (nightly job)", Run: reconcile},
	{Name: "status", Summary: "queue state, account pause, per-batch counts, rate, ETA and budget", Run: status},
	{Name: "batches", Summary: "list batches with state, times and counts (-state, -since, -name)", Run: batches},
	{Name: "find", Summary: "find records across batches by ref, or by id number from stdin (masked)", Run: find},
	{Name: "review", Summary: "the review queue, and decisions: approve, reject, reverify (-decide)", Run: review},
	{Name: "pause", Summary: "hold one batch's records (not sent until ops resume)", Run: pauseBatch},
	{Name: "resume", Summary: "resume a paused batch, or undo a cancel", Run: resumeBatch},
	{Name: "cancel", Summary: "cancel one batch's records not sent yet (batch.cancelled)", Run: cancelBatch},
	{Name: "budget", Summary: "cap a batch's billed IVS calls (-max N, 0 = no cap)", Run: budget},
	{Name: "prevalidate", Summary: "report which pending/queued records would be rejected, without calling IVS", Run: prevalidate},
	{Name: "plan", Summary: "what a batch will cost: rows accepted/refused, calls after dedup, duration at the quota, budget", Run: plan},
	{Name: "export", Summary: "write a batch as CSV or xlsx for people (personal data masked, -lang, -tz) or programs (-raw)", Run: export},
	{Name: "report", Summary: "write a batch as a self-contained HTML report with charts", Run: report},
	{Name: "webhooks", Summary: "webhook endpoints for batch events: add, list, remove, deliveries, replay", Run: webhooks},
	{Name: "migrate", Summary: "apply the schema's migrations (the only command that does; run as the migrator role)", Run: migrate},
	{Name: "roles", Summary: "print (or -apply) the SQL making the migrator, worker, operator and reader roles", Run: roles},
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(log)
	cli.RedisLogsTo(log)
	cli.Main("ops", commands, `Settings come from the environment: IVSBATCH_DATABASE_URL, IVSBATCH_REDIS_URL
(or IVSBATCH_REDIS_ADDR, IVSBATCH_REDIS_DB; IVSBATCH_REDIS_PASSWORD[_FILE]), IVSBATCH_S3_ENDPOINT and
AWS_*, IVSBATCH_MEDIA_ROOT and IVSBATCH_S3_BUCKETS (prevalidate), IVSBATCH_QUOTA (plan), IVSBATCH_PII_KEYS / IVSBATCH_PII_INDEX_KEY (export,
find, review, prevalidate: personal data is opened to mask or check it; exit 2 when unset).
Commands that change something write an audit_log row (-operator, default $USER; the
database adds the login it authenticated). Every command but migrate and roles stops (exit 3)
when the database lacks a migration: run "ops migrate" with the migrator role first.
`)
}

// newFlags returns a flag set whose -h prints about (what the command does),
// the flags, and examples.
func newFlags(name, synopsis, about, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet("ops "+name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: ops %s %s\n\n%s\n\nflags:\n", name, synopsis, about)
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nexamples:\n%s\n%s", examples, cli.ExitCodes)
	}
	return fs
}

func operatorFlag(fs *flag.FlagSet) *string {
	return fs.String("operator", defaultOperator(), "who runs this, for the audit log")
}

// parse parses args (flags may come in any order); a stray positional
// argument is a usage error.
// Numbers given as flags (ids, counts, durations) must not be negative, and
// a float (the quota) must be positive.
func parse(fs *flag.FlagSet, args []string) error {
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	var err error
	check := func(f *flag.Flag, ok bool, want string) {
		if !ok && err == nil {
			err = usageError(fs, "-%s %s: want %s", f.Name, f.Value, want)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch v := f.Value.(flag.Getter).Get().(type) {
		case int:
			check(f, v >= 0, "0 or more")
		case int64:
			check(f, v >= 0, "0 or more")
		case time.Duration:
			check(f, v >= 0, "a duration of 0 or more")
		case float64:
			check(f, v > 0, "a positive number")
		}
	})
	return err
}

func usageError(fs *flag.FlagSet, format string, a ...any) error {
	return cli.Usagef(fs, format, a...)
}
