package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

func defaultOperator() string { return config.Operator(os.Getenv) }

// open builds what a command needs from the environment (internal/cmdenv,
// the one construction of enqueue's, ops's and demo's servers).
func open(ctx context.Context, needs cmdenv.Needs) (*cmdenv.Env, error) {
	return cmdenv.FromEnv(ctx, os.Getenv, needs)
}

// openStore is open for a command that needs only the store.
func openStore(ctx context.Context) (*store.Store, error) {
	env, err := open(ctx, cmdenv.Store)
	if err != nil {
		return nil, err
	}
	return env.Store, nil
}

func requeue(ctx context.Context, args []string) error {
	fs := newFlags("requeue", "[selection flags] [-dry-run] [-force -reason TEXT]",
		`Re-queues finished records so they are verified again: each gets a new
generation (the feeder enqueues it as record:ID:gN+1), status pending,
attempts 0, its last error cleared. Selection flags combine (AND); at least one
is required. Records pending, queued or in_flight are skipped (already on
their way). Records with a verdict (done, or review with a verification code)
are NEVER re-queued unless -force -reason "…": that is a new, paid
verification, recorded with the record ids in the audit log. A forced
requeue needs -batch or record ids and a reason that explains (8 letters or
digits at least); it first states how many records with a verdict it would
send again and what that costs (IVSBATCH_PRICE_PER_CALL, "0.3 CNY"), and
refuses (exit 2, nothing changed) above -max-forced.
Records stopped by a batch budget (failed budget.exhausted) resume with
-code budget.exhausted once the budget is raised (ops budget).
-dry-run prints the count and the first rows (id, ref, status, code) and
changes nothing. Personal data is never printed.`,
		`  ops requeue -batch 12 -code IVS.0101,APIG.0201 -dry-run
  ops requeue -batch 12 -code IVS.0101,APIG.0201
  ops requeue -batch 12 -code budget.exhausted
  ops requeue -status failed -since 12h
  ops requeue -ids-file redo.txt -force -reason "ticket 4711: customer disputes verdict"
  ops requeue -batch 12 -status done -force -max-forced 500 -reason "ticket 4712: authority data corrected"
`)
	batch := fs.Int64("batch", 0, "only records of this batch")
	statuses := fs.String("status", "", "only records in these statuses, comma-separated (failed,rejected,done,review; default all)")
	codes := fs.String("code", "", "only records whose last error code is one of these, comma-separated (IVS.0101,APIG.0201)")
	since := fs.String("since", "", "only records updated since: an RFC 3339 time or a duration back from now (12h)")
	ids := fs.String("ids", "", "only these record ids, comma-separated")
	idsFile := fs.String("ids-file", "", "only the record ids in this file, one per line")
	dry := fs.Bool("dry-run", false, "print what would be re-queued; change nothing")
	force := fs.Bool("force", false, "also re-queue records that have a verdict (paid re-verification; needs -reason)")
	reason := fs.String("reason", "", "why (required with -force; stored in the audit log)")
	maxForced := fs.Int("max-forced", ops.DefaultMaxForced, "with -force: most records with a verdict to verify again")
	sample := fs.Int("show", 20, "rows to print")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	f := store.RequeueFilter{BatchID: *batch, Codes: ops.SplitList(*codes)}
	for _, s := range ops.SplitList(*statuses) {
		f.Statuses = append(f.Statuses, pipeline.Status(s))
	}
	var err error
	if f.Since, err = ops.ParseSince(*since, time.Now()); err != nil {
		return usageError(fs, "%v", err)
	}
	if f.IDs, err = ops.ParseIDs(*ids); err != nil {
		return usageError(fs, "-ids: %v", err)
	}
	if *idsFile != "" {
		more, err := ops.ReadIDsFile(*idsFile)
		if err != nil {
			return usageError(fs, "-ids-file: %v", err)
		}
		if len(more) == 0 {
			return usageError(fs, "-ids-file %s holds no ids", *idsFile)
		}
		f.IDs = append(f.IDs, more...)
	}
	if f.BatchID == 0 && len(f.Statuses) == 0 && len(f.Codes) == 0 && f.Since.IsZero() && len(f.IDs) == 0 {
		return usageError(fs, "give at least one of -batch, -status, -code, -since, -ids, -ids-file")
	}
	if *force && *reason == "" {
		return usageError(fs, "-force needs -reason \"why this paid re-verification is needed\"")
	}
	if *force && f.BatchID == 0 && len(f.IDs) == 0 {
		return usageError(fs, "-force needs -batch or -ids/-ids-file: a forced re-verification is never fleet-wide")
	}
	if *force {
		if err := ops.CheckReason(*reason); err != nil {
			return usageError(fs, "%v", err)
		}
	}
	env, err := open(ctx, cmdenv.Store|cmdenv.Price)
	if err != nil {
		return err
	}
	defer env.Close()
	res, err := ops.Requeue(ctx, env.Store, ops.RequeueOptions{Filter: f, DryRun: *dry, Force: *force, Reason: *reason,
		Operator: *operator, Sample: *sample, Args: map[string]any{"argv": args}, Progress: progressOut(),
		MaxForced: *maxForced, Price: env.Config.Price, Notice: os.Stdout})
	if err != nil {
		return err
	}
	ops.PrintRequeue(os.Stdout, res, *dry)
	if *dry {
		fmt.Println("dry run: nothing changed")
	}
	return nil
}

func reconcile(ctx context.Context, args []string) error {
	fs := newFlags("reconcile", "[-lease 10m] [-since TIME]",
		`For the nightly job (workers run it themselves on IVSBATCH_RECONCILE_CRON);
idempotent and safe while workers run. It repairs:
  (a) queued and in_flight records whose task the Redis queue lost or whose
      worker died: handed back to the queue, as every worker's feeder does
      every few seconds (one path, one threshold: 20 s unchanged, held by no
      live worker; a run waits that long when it finds such records);
  (b) attempts in flight for longer than -lease (a worker died between the
      call and storing it): reported as possibly billed, and closed as
      abandoned + possibly billed when their record is no longer in_flight
      (otherwise the record's next claim does it and counts it);
and reports (c) an account pause with the batches whose open records it holds.
The summary is printed and stored in reconcile_runs (and the audit log).

Exit codes: 0 nothing needs a human; 1 error; 3 something needs a human:
the account is paused, stale in-flight attempts were found, attempts were
marked possibly billed since the previous run (check the invoice), or records
failed since the previous run (including budget.exhausted).
-lease must be at least the workers' task timeout (3m): a live worker's
attempt is not stale.`,
		`  ops reconcile
  ops reconcile -lease 15m
  ops reconcile -since 2025-06-01T00:00:00+08:00   # look further back for failures
`)
	lease := fs.Duration("lease", ops.DefaultLease, "attempts in flight this long are reported as possibly billed")
	taskTimeout := fs.Duration("task-timeout", worker.DefaultTaskTimeout, "the workers' -task-timeout (for re-enqueued tasks)")
	since := fs.String("since", "", "count failures and possibly billed attempts since (default: the previous run, or 24h)")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *lease < *taskTimeout {
		return usageError(fs, "-lease %s is shorter than the task timeout %s: a live worker's record could be sent twice", *lease, *taskTimeout)
	}
	sinceT, err := ops.ParseSince(*since, time.Now())
	if err != nil {
		return usageError(fs, "%v", err)
	}
	env, err := open(ctx, cmdenv.Store|cmdenv.Redis)
	if err != nil {
		return err
	}
	defer env.Close()
	sum, err := ops.Reconcile(ctx, env.Store, env.Redis, ops.ReconcileOptions{Lease: *lease, Since: sinceT,
		TaskTimeout: *taskTimeout, Operator: *operator})
	if err != nil {
		return err
	}
	ops.PrintReconcile(os.Stdout, sum)
	if sum.NeedsHuman {
		return exitCode(3)
	}
	return nil
}

func status(ctx context.Context, args []string) error {
	fs := newFlags("status", "[-batch ID]",
		`Shows the queues (asynq: pending, active, scheduled, retry, archived tasks of
the queues ivs-standard and ivs-extention, one per IVS endpoint, paused or not), the account-wide pause and its reason, and per
batch (-batch, or every batch with open records): counts by status, verdict
and error code, the current rate (from the batch's latest calls, within the last minute), the
ETA, and the budget of billed calls. Changes nothing.`,
		`  ops status
  ops status -batch 12
`)
	batch := fs.Int64("batch", 0, "only this batch (default: every batch with open records)")
	if err := parse(fs, args); err != nil {
		return err
	}
	env, err := open(ctx, cmdenv.Store|cmdenv.Redis)
	if err != nil {
		return err
	}
	defer env.Close()
	r, err := ops.Status(ctx, env.Store, env.Redis, *batch)
	if err != nil {
		return err
	}
	ops.PrintStatus(os.Stdout, r)
	return nil
}

func plan(ctx context.Context, args []string) error {
	fs := newFlags("plan", "-batch ID",
		`Prints what a batch will cost before (or while) it runs: its manifest rows
accepted, refused and set aside for review; the paid IVS calls still to make
for its open records after dedup (an upper bound: records repeating the same
inputs — shape, name, id number, media references, actions — share one call,
and earlier valid verdicts may save more); the time they take at the account's
quota per endpoint (IVSBATCH_QUOTA, default 10 requests/s; the two endpoints
run in parallel); and whether the batch's budget (ops budget) covers them.
Changes nothing; prints no personal data.`,
		`  ops plan -batch 12
  IVSBATCH_QUOTA=50 ops plan -batch 12
`)
	batch := fs.Int64("batch", 0, "batch id (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return usageError(fs, "-batch is required")
	}
	env, err := open(ctx, cmdenv.Store|cmdenv.Quota)
	if err != nil {
		return err
	}
	defer env.Close()
	p, err := ops.MakePlan(ctx, env.Store, *batch, env.Config.Quota)
	if err != nil {
		return err
	}
	p.Write(os.Stdout)
	return nil
}

func budget(ctx context.Context, args []string) error {
	fs := newFlags("budget", "-batch ID [-max N]",
		`Caps the billed IVS calls of a batch. Workers reserve a slot before every
call and give it back when the call was not billed, so concurrent workers stop
at exactly the cap; past it they finish the batch's records as failed with
code budget.exhausted (logging "budget reached" once). After raising the cap,
resume them with: ops requeue -batch ID -code budget.exhausted.
-max 0 removes the cap. Without -max, prints the budget and changes nothing.
A slot is an attempt row (reserved, in flight, billed or possibly billed), so
a crashed worker's unsent reservations come back; ops reconcile recomputes.`,
		`  ops budget -batch 12              # show
  ops budget -batch 12 -max 5000
  ops budget -batch 12 -max 0       # no cap
`)
	batch := fs.Int64("batch", 0, "batch id (required)")
	maxN := fs.Int("max", -1, "most billed calls for the batch; 0 = no cap; omit to only show")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return usageError(fs, "-batch is required")
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var b store.Budget
	if *maxN < 0 {
		b, err = st.GetBudget(ctx, *batch)
	} else {
		b, err = ops.SetBudget(ctx, st, *batch, *maxN, *operator)
	}
	if err != nil {
		return err
	}
	ops.PrintBudget(os.Stdout, b)
	return nil
}

func prevalidate(ctx context.Context, args []string) error {
	fs := newFlags("prevalidate", "-batch ID",
		`Runs what a worker does before calling IVS — fetch the media (S3 or file://),
check and prepare it, validate the request — for every pending or queued
record of the batch, and reports which would be rejected and why: counts by
reject code and the first rows. IVS is never called; nothing is stored.
"error" counts records that could not be checked (storage down …).`,
		`  ops prevalidate -batch 12
  ops prevalidate -batch 12 -show 100
`)
	batch := fs.Int64("batch", 0, "batch id (required)")
	sample := fs.Int("show", 20, "rejected rows to print")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return usageError(fs, "-batch is required")
	}
	env, err := open(ctx, cmdenv.Keys|cmdenv.Objects|cmdenv.Preparer)
	if err != nil {
		return err
	}
	defer env.Close()
	proc, err := env.Prevalidator()
	if err != nil {
		return err
	}
	r, err := ops.Prevalidate(ctx, env.Store, proc, *batch, *sample, progressOut())
	if err != nil {
		return err
	}
	ops.PrintPrevalidate(os.Stdout, *batch, r)
	return nil
}

func export(ctx context.Context, args []string) error {
	fs := newFlags("export", "-batch ID -o FILE.csv|FILE.xlsx [-format csv|xlsx] [-lang zh-CN] [-tz ZONE] [-bom=false] [-raw]",
		`Writes every record of a batch as CSV or .xlsx, for people to open in Excel,
WPS or LibreOffice: id, ref, line, shape, status, verdict, verification_code,
similarity, an explanation of the verdict or error code, last_error_code,
last_error_message, attempts, finished_at, linked_record_id, and the name and
id number MASKED (张*, 44**************07) — never in full; then the
manifest's own columns, each as a column of its own (sorted by name); for
batches with id-card shapes the card as IVS read it (name, number, birth date
and address masked); for video shapes the liveness result and its actions.
The CSV starts with a UTF-8 byte order mark (-bom=false to leave it out), so
Excel and WPS on Chinese Windows show 周 and not 鍛. Times are in -tz (default
the machine's zone, named in the header); -lang zh-CN (default from LC_ALL,
LC_MESSAGES or LANG) writes Chinese headers, status, verdict and shape names
and explanations. Refs, the manifest's columns, messages and the card's text
come from outside: a CSV cell a spreadsheet would evaluate (starting with
= + - @, TAB, CR or their full-width forms) is written with a leading
apostrophe, which the spreadsheets show as text. In .xlsx every text cell is
typed as a string, never a formula, and times are dates. -raw writes CSV for
programs: machine names in the header, values as stored, times in RFC 3339
with their offset. "-o -" writes to stdout. The format follows the -o
extension unless -format says. Writes an audit_log row.`,
		`  ops export -batch 12 -o batch-12.csv
  ops export -batch 12 -o batch-12.xlsx -lang zh-CN -tz Asia/Shanghai
  ops export -batch 12 -o - -raw -bom=false | my-loader
`)
	batch := fs.Int64("batch", 0, "batch id (required)")
	out := fs.String("o", "", "output file (- for stdout; required)")
	format := fs.String("format", "", "csv or xlsx (default: from the -o extension, else csv)")
	raw := fs.Bool("raw", false, "CSV for programs: cells as stored, not neutralised for spreadsheets, machine names")
	bom := fs.Bool("bom", true, "start a CSV with a UTF-8 byte order mark (Excel and WPS need it to read UTF-8)")
	tz := fs.String("tz", "", "time zone of the times written, an IANA name such as Asia/Shanghai (default: the machine's)")
	lang := langFlag(fs)
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 || *out == "" {
		return usageError(fs, "-batch and -o are required")
	}
	opts := ops.ExportOptions{Format: *format, Raw: *raw, NoBOM: !*bom}
	if opts.Format == "" && strings.EqualFold(filepath.Ext(*out), ".xlsx") {
		opts.Format = ops.FormatXLSX
	}
	if opts.Format != "" && opts.Format != ops.FormatCSV && opts.Format != ops.FormatXLSX {
		return usageError(fs, "-format %q: want csv or xlsx", opts.Format)
	}
	if opts.Raw && opts.Format == ops.FormatXLSX {
		return usageError(fs, "-raw is for CSV (xlsx cells are typed text, never formulas)")
	}
	var err error
	if opts.Lang, err = parseLang(fs, *lang); err != nil {
		return err
	}
	if opts.Zone, err = ops.LoadZone(*tz, os.Getenv); err != nil {
		return usageError(fs, "-tz: %v", err)
	}
	env, err := open(ctx, cmdenv.Keys) // names and id numbers are opened to mask them
	if err != nil {
		return err
	}
	defer env.Close()
	st := env.Store
	return writeOutput(*out, func(w *bufio.Writer, path string) error {
		var dst io.Writer = w
		if pw := progressOut(); pw != nil && *out != "-" {
			bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(pw), progressbar.OptionSetDescription("export"),
				progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
			defer bar.Finish()
			dst = io.MultiWriter(w, bar)
		}
		n, err := ops.ExportAudited(ctx, st, *batch, dst, opts, path, *operator)
		if err == nil && *out != "-" {
			fmt.Fprintf(os.Stderr, "wrote %d records to %s (times in %s)\n", n, *out, opts.Zone)
		}
		return err
	})
}

// langFlag is -lang, whose default is the environment's locale.
func langFlag(fs *flag.FlagSet) *string {
	return fs.String("lang", string(i18n.FromEnv(os.Getenv)),
		"language of headers, names and explanations: en or zh-CN (default from LC_ALL, LC_MESSAGES or LANG)")
}

// parseLang reads -lang's value.
func parseLang(fs *flag.FlagSet, s string) (i18n.Lang, error) {
	l, err := i18n.Parse(s)
	if err != nil {
		return l, usageError(fs, "-lang: %v", err)
	}
	return l, nil
}

func report(ctx context.Context, args []string) error {
	fs := newFlags("report", "-batch ID -o FILE.html [-quota 10] [-lang zh-CN] [-tz ZONE]",
		`Writes a self-contained HTML report of a batch (inline CSS and SVG; no
scripts, nothing loaded from the network): status table, the verdict mix, a
similarity histogram, error codes of the attempts over time (per minute,
stacked by code), and IVS calls per second per endpoint against the quota
line. Charts show axes and "no data" when there is nothing to draw. Every
verification and error code of the batch is listed with what it means. -lang
zh-CN (default from LC_ALL, LC_MESSAGES or LANG) writes it in Chinese; times
are in -tz (default the machine's zone). No personal data. Writes an
audit_log row. scripts/report-screenshot.sh turns it into a PNG.`,
		`  ops report -batch 12 -o batch-12.html
  ops report -batch 12 -o batch-12.html -quota 20 -lang zh-CN -tz Asia/Shanghai
`)
	batch := fs.Int64("batch", 0, "batch id (required)")
	out := fs.String("o", "", "output file (- for stdout; required)")
	quota := fs.Float64("quota", 10, "the account's quota in requests/s per endpoint (the line on the calls chart)")
	tz := fs.String("tz", "", "time zone of the times shown, an IANA name such as Asia/Shanghai (default: the machine's)")
	lang := langFlag(fs)
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 || *out == "" {
		return usageError(fs, "-batch and -o are required")
	}
	opts := ops.ReportOptions{Quota: *quota}
	var err error
	if opts.Lang, err = parseLang(fs, *lang); err != nil {
		return err
	}
	if opts.Zone, err = ops.LoadZone(*tz, os.Getenv); err != nil {
		return usageError(fs, "-tz: %v", err)
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return writeOutput(*out, func(w *bufio.Writer, path string) error {
		err := ops.ReportAudited(ctx, st, *batch, w, opts, path, *operator)
		if err == nil && *out != "-" {
			fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
		}
		return err
	})
}

// writeOutput runs write into path ("-": stdout) through a temporary file
// renamed into place, so a failed run leaves no half-written file.
func writeOutput(path string, write func(w *bufio.Writer, path string) error) error {
	if path == "-" {
		w := bufio.NewWriter(os.Stdout)
		if err := write(w, "-"); err != nil {
			return err
		}
		return w.Flush()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), ".ops-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := write(w, abs); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), abs)
}

// progressOut is where long commands draw progress: stderr when it is a
// terminal, nowhere otherwise (logs and pipes stay clean).
func progressOut() io.Writer {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return os.Stderr
	}
	return nil
}
