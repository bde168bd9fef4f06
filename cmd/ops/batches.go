package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// tzFlag adds -tz: the zone times are printed in (default the local zone).
func tzFlag(fs *flag.FlagSet) *string {
	return fs.String("tz", "", "time zone for the times shown, such as Asia/Shanghai (default: the local zone)")
}

func loadTZ(fs *flag.FlagSet, name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, usageError(fs, "-tz %q: not a time zone (such as Asia/Shanghai or UTC)", name)
	}
	return loc, nil
}

func batches(ctx context.Context, args []string) error {
	fs := newFlags("batches", "[-state open|finished|paused|cancelled] [-since 24h] [-name TEXT] [-n 50]",
		`Lists batches, newest first: id, state, when created and finished, records by
status, and name. A batch is open while it has records on their way, finished
when it has none (workers record the time within seconds), paused or
cancelled by an operator (ops pause, ops cancel). -since keeps batches created
or finished since then. No personal data; changes nothing but the finish
times of batches that just finished.`,
		`  ops batches
  ops batches -since 24h
  ops batches -state finished -name nightly
`)
	state := fs.String("state", "", "only batches in this state: open, finished, paused, cancelled")
	since := fs.String("since", "", "only batches created or finished since: an RFC 3339 time or a duration back from now (24h)")
	name := fs.String("name", "", "only batches whose name contains this (any case)")
	n := fs.Int("n", 50, "most batches to list")
	tz := tzFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	f := store.BatchFilter{Name: *name, Limit: *n}
	var err error
	if f.State, err = ops.ParseBatchState(*state); err != nil {
		return usageError(fs, "%v", err)
	}
	if f.Since, err = ops.ParseSince(*since, time.Now()); err != nil {
		return usageError(fs, "%v", err)
	}
	loc, err := loadTZ(fs, *tz)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := ops.Batches(ctx, st, f, os.Stderr)
	if err != nil {
		return err
	}
	ops.PrintBatches(os.Stdout, list, loc)
	return nil
}

func find(ctx context.Context, args []string) error {
	fs := newFlags("find", "-ref REF | -id-stdin",
		`Finds records across batches, newest first: by the manifest's ref, or by id
number read from standard input (-id-stdin; never a flag, so it stays out of
shell history and ps), looked up through the blind index: the number is
hashed with IVSBATCH_PII_INDEX_KEY and never sent to the database. Shows each
record's batch, status, verdict or code, masked name and id number (张*,
11**************3X) and its review decision. A look-up by id number reads the
whole records table (no index: it would slow every submit).`,
		`  ops find -ref A-1042
  printf '%s\n' "$ID_NUMBER" | ops find -id-stdin
`)
	ref := fs.String("ref", "", "the record's ref (the manifest's ref column, or line-N)")
	idStdin := fs.Bool("id-stdin", false, "read one id number from standard input")
	n := fs.Int("n", 20, "most records to show")
	tz := tzFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*ref == "") == !*idStdin {
		return usageError(fs, "give -ref REF or -id-stdin (one of them)")
	}
	loc, err := loadTZ(fs, *tz)
	if err != nil {
		return err
	}
	o := ops.FindOptions{Ref: *ref, Limit: *n}
	if *idStdin {
		if o.IDNumber, err = ops.ReadIDNumber(os.Stdin); err != nil {
			return usageError(fs, "-id-stdin: %v", err)
		}
	}
	env, err := open(ctx, cmdenv.Keys) // masked names are opened first; -id-stdin needs the index key
	if err != nil {
		return err
	}
	defer env.Close()
	found, err := ops.Find(ctx, env.Store, o)
	if err != nil {
		return err
	}
	ops.PrintFound(os.Stdout, found, loc)
	return nil
}

func review(ctx context.Context, args []string) error {
	fs := newFlags("review", "[-batch ID] | -decide approve|reject|reverify -reason TEXT (-ref REF | -refs-file FILE) [-name NAME]",
		`Without -decide: lists the review queue (records in status review, every
batch or -batch), counted by why they are there — IVS's 3001 (id not in the
authority's data), 2006 (no id photo there), name.private_use (a rare
character from a GBK/Big5 user-defined area) — and the first cases, masked.
With -decide: records a decision on the refs given (-ref, or -refs-file with
one ref per line), with who (-operator and the database user), when and why
(-reason, required), in one transaction with an audit row:
  approve   the record ends review_approved (IVS's own verdict is kept beside it)
  reject    the record ends review_rejected
  reverify  the record goes back to pending for ONE MORE PAID IVS CALL (no
            dedup), with -name the corrected name as the authority stores it
            (e.g. the standard character for a user-defined-area one)
A ref in review in several batches needs -batch. Decisions show in ops find,
ops status and ops report.`,
		`  ops review
  ops review -batch 12 -n 100
  ops review -decide approve -ref A-1042 -reason "passport checked at the branch"
  ops review -decide reject -refs-file rejected.txt -batch 12 -reason "ticket 4711"
  ops review -decide reverify -ref A-1043 -name 张䶮 -reason "authority stores U+4DAE"
`)
	batch := fs.Int64("batch", 0, "only this batch")
	n := fs.Int("n", 50, "cases to list")
	after := fs.Int64("after", 0, "list cases after this record id (the next page)")
	decide := fs.String("decide", "", "approve, reject or reverify")
	reason := fs.String("reason", "", "why (required with -decide; stored with the decision and in the audit log)")
	ref := fs.String("ref", "", "the ref of the record to decide on")
	refsFile := fs.String("refs-file", "", "decide on the refs in this file, one per line")
	name := fs.String("name", "", "reverify: the corrected name")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *decide == "" {
		if *ref != "" || *refsFile != "" || *reason != "" || *name != "" {
			return usageError(fs, "-ref, -refs-file, -reason and -name go with -decide")
		}
		env, err := open(ctx, cmdenv.Keys) // the cases are listed masked
		if err != nil {
			return err
		}
		defer env.Close()
		q, err := ops.Review(ctx, env.Store, store.ReviewFilter{BatchID: *batch, After: *after, Limit: *n})
		if err != nil {
			return err
		}
		ops.PrintReview(os.Stdout, q)
		return nil
	}
	o := ops.DecideOptions{BatchID: *batch, Decision: pipeline.ReviewDecision(*decide), Reason: *reason,
		CorrectedName: *name, Operator: *operator}
	if *ref != "" {
		o.Refs = append(o.Refs, *ref)
	}
	if *refsFile != "" {
		refs, err := ops.ReadRefsFile(*refsFile)
		if err != nil {
			return usageError(fs, "-refs-file: %v", err)
		}
		o.Refs = append(o.Refs, refs...)
	}
	if len(o.Refs) == 0 {
		return usageError(fs, "-decide needs -ref or -refs-file")
	}
	if *reason == "" {
		return usageError(fs, "-decide needs -reason \"why\"")
	}
	if *name != "" && o.Decision != pipeline.DecideReverify {
		return usageError(fs, "-name goes with -decide reverify")
	}
	needs := cmdenv.Store
	if o.Decision == pipeline.DecideReverify {
		needs = cmdenv.Keys // the corrected name is sealed
	}
	env, err := open(ctx, needs)
	if err != nil {
		return err
	}
	defer env.Close()
	rep, err := ops.Decide(ctx, env.Store, o)
	if errors.Is(err, ops.ErrAmbiguousRef) {
		return usageError(fs, "%v", err)
	}
	if err != nil {
		return err
	}
	ops.PrintDecide(os.Stdout, o, rep)
	if len(rep.Decided) == 0 {
		return errors.New("review: no record decided")
	}
	return nil
}

func pauseBatch(ctx context.Context, args []string) error {
	return batchAction(ctx, ops.ActionPause, args, `Pauses one batch: its pending and queued records are held and not sent
until ops resume; records in flight finish. Other batches go on. Audited.`,
		`  ops pause -batch 12 -reason "customer asked to hold"
`)
}

func resumeBatch(ctx context.Context, args []string) error {
	return batchAction(ctx, ops.ActionResume, args, `Resumes a paused batch (its held records go back to pending), or undoes a
cancel (its batch.cancelled records go back to pending). Audited.`,
		`  ops resume -batch 12
`)
}

func cancelBatch(ctx context.Context, args []string) error {
	return batchAction(ctx, ops.ActionCancel, args, `Cancels one batch: its records not sent yet (pending, queued, held) end
failed with code batch.cancelled, and nothing more is sent for it; records in
flight finish. ops resume undoes it. -reason is required. Audited.`,
		`  ops cancel -batch 12 -reason "wrong manifest uploaded"
`)
}

func batchAction(ctx context.Context, action ops.BatchAction, args []string, about, examples string) error {
	fs := newFlags(string(action), "-batch ID [-reason TEXT]", about, examples)
	batch := fs.Int64("batch", 0, "batch id (required)")
	reason := fs.String("reason", "", "why (stored in the audit log; required for cancel)")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return usageError(fs, "-batch is required")
	}
	if action == ops.ActionCancel && *reason == "" {
		return usageError(fs, "-reason is required")
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := ops.ChangeBatch(ctx, st, action, *batch, *reason, *operator)
	if errors.Is(err, store.ErrBatchState) {
		return fmt.Errorf("%s: batch %d is %s; nothing changed", action, *batch, c.From)
	}
	if err != nil {
		return err
	}
	ops.PrintBatchChange(os.Stdout, action, c)
	return nil
}
