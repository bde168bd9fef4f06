package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/worker"
)

func purge(ctx context.Context, args []string) error {
	fs := newFlags("purge", "[-dry-run] [-chunk N]",
		`Removes personal data past its retention (IVSBATCH_RETAIN_PICTURES, _ERRORS,
_OCR, _INPUTS, _VERDICTS; README, Personal data lifecycle), counted from each
record's final outcome: kept pictures (the objects, then the references), error
messages, OCR results, sealed inputs with their blind indexes and digest, and
last whole records with their attempts. A record still open is never touched;
what remains of a purged record shows as purged, with its verdict, in status,
report and export. Workers run it themselves on IVSBATCH_PURGE_CRON (once per
slot across the fleet). It works in short transactions of -chunk records,
resumes where the previous run stopped, and is stored in purge_runs and the
audit log with its counts. -dry-run counts what it would remove and changes
nothing.`,
		`  ops purge -dry-run
  ops purge
  IVSBATCH_RETAIN_PICTURES=3d ops purge -dry-run
`)
	dry := fs.Bool("dry-run", false, "count what would be purged; change nothing")
	chunk := fs.Int("chunk", 1000, "records per transaction")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *chunk < 1 {
		return usageError(fs, "-chunk %d: want at least 1", *chunk)
	}
	policy, err := config.Retention(os.Getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	pics, err := pictureStore(ctx)
	if err != nil {
		return err
	}
	sum, err := ops.Purge(ctx, st, ops.PurgeOptions{Policy: policy, DryRun: *dry, Chunk: *chunk, Pictures: pics,
		Operator: *operator})
	ops.PrintPurge(os.Stdout, sum)
	if *dry && err == nil {
		fmt.Println("dry run: nothing changed")
	}
	return err
}

func erase(ctx context.Context, args []string) error {
	fs := newFlags("erase", "-reason TEXT [-file FILE] [-dry-run]  < requests",
		`Erases one person's data on their request (PIPL Art. 47): reads id numbers,
or records as ref:BATCH:REF, one a line, from -file or standard input (never
from the command line, where shells and process lists keep them), finds every
record of that person across batches through the blind index of the id number
(and the records that reused their verdicts), deletes their kept pictures and
removes their inputs, OCR, metadata and error messages. An anonymous
tombstone with the verdict remains (shown as erased in status and export);
no later record is answered from it. Records still on their way are left
alone and listed (exit 3: run it again once they finish). Writes an audit row
with the operator, the reason and the counts, never an id number.`,
		`  printf '110101199003071234\n' | ops erase -reason "request 2026-117"
  ops erase -file request.txt -reason "request 2026-117" -dry-run
`)
	file := fs.String("file", "", "read the request from this file (default: standard input)")
	reason := fs.String("reason", "", "why: the request's reference (required; stored in the audit log)")
	dry := fs.Bool("dry-run", false, "count what would be erased; change nothing")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *reason == "" {
		return usageError(fs, "-reason is required (the request's reference, for the audit log)")
	}
	var in io.Reader = os.Stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		defer f.Close()
		in = f
	}
	req, err := ops.ReadErasureRequest(in)
	if err != nil {
		return usageError(fs, "request: %v", err)
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	pics, err := pictureStore(ctx)
	if err != nil {
		return err
	}
	res, err := ops.Erase(ctx, st, st.Keyring(), ops.EraseOptions{Request: req, Reason: *reason, Operator: *operator,
		Pictures: pics, DryRun: *dry})
	if err != nil {
		return err
	}
	ops.PrintErase(os.Stdout, res)
	if len(res.Open) > 0 {
		return exitCode(3)
	}
	return nil
}

// pictureStore is where workers keep liveness pictures
// (IVSBATCH_KEEP_PICTURES), to delete them; nil when none are kept.
func pictureStore(ctx context.Context) (ops.PictureDeleter, error) {
	prefix, err := config.KeepPictures(os.Getenv)
	if err != nil || prefix == "" {
		return nil, err
	}
	objs, err := objstore.New(ctx, config.ObjStore(os.Getenv))
	if err != nil {
		return nil, err
	}
	return worker.PictureBucket{Store: objs, Prefix: prefix}, nil
}

func privacy(ctx context.Context, args []string) error {
	fs := newFlags("privacy", "[-since 720h] [-until TIME]",
		`Prints the register of processing (PIPL Art. 55–56 records, the
face-recognition measures' filing duty): for outcomes in the period, how many
records and people were verified, by shape; how many people's face data is
held now (kept liveness pictures, face images and videos not purged yet)
against the 100,000-person filing threshold; the retention in force
(IVSBATCH_RETAIN_*) and when the purge last ran. Counts only, no personal data.`,
		`  ops privacy
  ops privacy -since 2026-01-01T00:00:00+08:00 -until 2026-04-01T00:00:00+08:00
`)
	since := fs.String("since", "720h", "the period's start: an RFC 3339 time or a duration back from now")
	until := fs.String("until", "", "the period's end: an RFC 3339 time or a duration back from now (default now)")
	if err := parse(fs, args); err != nil {
		return err
	}
	now := time.Now()
	from, err := ops.ParseSince(*since, now)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	to := now
	if *until != "" {
		if to, err = ops.ParseSince(*until, now); err != nil {
			return usageError(fs, "-until: %v", err)
		}
	}
	if !from.Before(to) {
		return usageError(fs, "-since must be before -until")
	}
	policy, err := config.Retention(os.Getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := ops.Privacy(ctx, st, policy, from, to)
	if err != nil {
		return err
	}
	r.Write(os.Stdout)
	return nil
}
