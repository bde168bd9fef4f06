// Command enqueue submits manifests as batches and reports on them.
//
//	enqueue submit [-name NAME] [-format csv|jsonl|json|xlsx] [-encoding ENC] [-sheet NAME] MANIFEST
//	                                            (a local path, s3://bucket/key or file:///path)
//	enqueue status -batch ID [-wait]
//
// submit validates every row before storing anything, reports bad rows with
// their line numbers and reasons (personal data masked), stores the batch
// (bad rows too, as rejected with their reason) atomically, prints the plan
// (calls, duration, budget) and batch_id=ID. The
// workers' feeder queues the pending records. Submitting the same manifest
// again changes nothing and prints the same batch id.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/store"
)

type exitCode = cli.ExitCode

const submitAbout = `Validates every row of a manifest (a local path, s3://bucket/key or
file:///path; CSV with a header, or JSON Lines), lists the refused rows with
their line and reason (personal data masked), stores the batch (refused rows
too, as rejected with their reason) and prints batch_id=ID. The workers'
feeder queues the pending records. Submitting the same manifest again
changes nothing and prints the same batch id. Flags may follow MANIFEST.`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(log)
	cli.Main("enqueue", []cli.Command{
		{Name: "submit", Summary: "MANIFEST: validate and store a manifest (CSV/TSV, .xlsx, JSON Lines or a JSON array) as a batch",
			Run: func(ctx context.Context, args []string) error { return submit(ctx, log, args) }},
		{Name: "status", Summary: "-batch ID: counts by status, verdict and error code, rate and ETA (-wait: until all final)", Run: status},
		{Name: "rekey", Summary: "re-encrypt stored personal data under the active key (IVSBATCH_PII_KEY_ID)", Run: rekey},
	}, `
Manifest columns / keys: ref, shape, name, id_number, idcard_image1, idcard_image2,
face_image, video, actions, nod_threshold, detail, crop; other columns are kept
as the record's metadata (returned by ops export). Media are s3://bucket/key
or file:///abs/path references (file:// only under IVSBATCH_MEDIA_ROOT). Shapes:
name_face_image, card_face_image, name_video, card_video, name, card (inferred
from the fields when empty). Text is read as UTF-8, UTF-16 (BOM) or GB18030/GBK
(detected; -encoding forces one); the delimiter (comma, semicolon, tab) is sniffed.

Settings come from the environment: IVSBATCH_DATABASE_URL, IVSBATCH_S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, IVSBATCH_MEDIA_ROOT,
IVSBATCH_S3_BUCKETS, IVSBATCH_QUOTA (the plan), and the keys for personal
data at rest: IVSBATCH_PII_KEYS (or _FILE), IVSBATCH_PII_KEY_ID, IVSBATCH_PII_INDEX_KEY (or _FILE).
`)
}

func submit(ctx context.Context, log *slog.Logger, args []string) error {
	fs := cli.NewFlags("enqueue submit", "[flags] MANIFEST", submitAbout)
	name := fs.String("name", "", "batch name (default: the manifest's path)")
	format := fs.String("format", "", "csv, jsonl, json or xlsx (default: from the extension or content)")
	encoding := fs.String("encoding", "", "text encoding: utf-8, gbk, gb18030, utf-16le, utf-16be, big5 … (default: detected)")
	sheet := fs.String("sheet", "", "xlsx: the sheet to read (default: the first)")
	showBad := fs.Int("show-bad", 20, "how many refused rows to list")
	quiet := fs.Bool("quiet", false, "no progress bar")
	operator := fs.String("operator", config.Operator(os.Getenv), "who submits, for the audit log")
	pos, err := cli.Parse(fs, args, "MANIFEST")
	if err != nil {
		return err
	}
	src := pos[0]
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Keys|cmdenv.Objects|cmdenv.Quota)
	if err != nil {
		return err
	}
	defer env.Close()
	st, objs := env.Store, env.Objects
	open := ingest.ObjectOrFile(objs)
	opts := ingest.SubmitOptions{Name: *name, Format: ingest.Format(*format), Encoding: *encoding, Sheet: *sheet,
		MaxBad: *showBad, Logger: log, CheckRef: objs.CheckRef, Operator: *operator}
	if !*quiet {
		opts.Progress = os.Stderr
	}
	sum, err := ingest.Submit(ctx, st, open, src, opts)
	if err != nil {
		return fmt.Errorf("%w (nothing stored in %s)", err, st.Database())
	}
	for _, b := range sum.Bad {
		fmt.Printf("refused: %s [%s]\n", sink.Terminal(b.Error()), b.Code)
	}
	if n := sum.Rejected + sum.Review - len(sum.Bad); n > 0 {
		fmt.Printf("… and %d more refused rows (enqueue status -batch %d lists them by code)\n", n, sum.BatchID)
	}
	fmt.Printf("read %s\n", describe(sum.Info))
	switch {
	case sum.Created:
		fmt.Printf("new batch %d in %s: %d rows, %d valid, %d refused, %d for review, %d records stored\n",
			sum.BatchID, st.Database(), sum.Rows, sum.Valid, sum.Rejected, sum.Review, sum.Inserted)
	case sum.Inserted == 0:
		fmt.Printf("manifest already submitted as batch %d in %s: nothing added (%d rows, all stored before)\n",
			sum.BatchID, st.Database(), sum.Rows)
	default:
		fmt.Printf("manifest already submitted as batch %d in %s: %d missing records added (%d rows)\n",
			sum.BatchID, st.Database(), sum.Inserted, sum.Rows)
	}
	p, err := ops.MakePlan(ctx, st, sum.BatchID, env.Config.Quota)
	if err != nil {
		return err
	}
	p.Write(os.Stdout)
	fmt.Printf("batch_id=%d\n", sum.BatchID)
	return nil
}

// describe says how a manifest was read: format, encoding, delimiter or
// sheet, and the columns kept as metadata (the manifest's own text, escaped
// for the terminal).
func describe(i ingest.Info) string {
	s := string(i.Format) + " in " + i.Encoding
	if i.Delimiter != "" {
		s += ", " + i.Delimiter + "-separated"
	}
	if i.Sheet != "" {
		s = string(i.Format) + ", sheet \"" + i.Sheet + "\""
	}
	if len(i.Extra) > 0 {
		s += fmt.Sprintf("; columns kept as metadata: %s", strings.Join(i.Extra, ", "))
	}
	return sink.Terminal(s) // sheet and column names come from the manifest
}

func rekey(ctx context.Context, args []string) error {
	fs := cli.NewFlags("enqueue rekey", "[-chunk N]", `Key rotation: add the new key to IVSBATCH_PII_KEYS (keep the old one), make it
active with IVSBATCH_PII_KEY_ID, restart workers, run rekey, then remove the
old key. Safe to run while workers run, and to re-run after an interruption.`)
	chunk := fs.Int("chunk", 500, "records per transaction")
	operator := fs.String("operator", config.Operator(os.Getenv), "who runs this, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *chunk < 1 {
		return cli.Usagef(fs, "-chunk %d: want at least 1", *chunk)
	}
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Keys)
	if err != nil {
		return err
	}
	defer env.Close()
	st := env.Store
	n, err := st.Rekey(ctx, *chunk)
	result := map[string]any{"records": n, "active_key_id": st.Keyring().ActiveKeyID()}
	if err != nil {
		result["error"] = err.Error()
	}
	if aerr := st.Audit(ctx, store.AuditEntry{Operator: *operator, Command: "rotate-keys",
		Args: map[string]any{"chunk": *chunk}, Result: result}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("re-encrypted %d records under key %q\n", n, st.Keyring().ActiveKeyID())
	return nil
}
