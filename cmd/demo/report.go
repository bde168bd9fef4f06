package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// report prints every record of the batch with its stored outcome next to
// the outcome the demo population was built to produce. It fails when any
// record differs, so `make demo` shows a broken pipeline.
func report(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.NewFlags("demo report", "-batch N [-out DIR]", `Prints every record of the demo batch with its stored outcome next to the
outcome the population was built to produce (expected.json under -out), and
fails (exit 1) when any record differs.`)
	dir := fs.String("out", ".run/demo", "directory prepare wrote expected.json to")
	batch := fs.Int64("batch", 0, "batch id (required)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return cli.Usagef(fs, "-batch is required")
	}
	var exp expectations
	b, err := os.ReadFile(filepath.Join(*dir, "expected.json"))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		return fmt.Errorf("report: expected.json: %w", err)
	}
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Keys) // the records are read whole
	if err != nil {
		return err
	}
	defer env.Close()
	recs, err := env.Store.ListRecords(ctx, *batch)
	if err != nil {
		return fmt.Errorf("report: batch %d: %w", *batch, err)
	}
	want := exp.Records
	for _, ref := range exp.BadRefs {
		want[ref] = e2e.Expect{Status: pipeline.StatusRejected, Reject: "id."} // refused at enqueue, stored with its reason
	}
	bad := printTable(out, recs, want)
	fmt.Fprintf(out, "\nrow refused at enqueue: %v (manifest line %d)\n", exp.BadRefs, exp.BadLine)
	if bad > 0 || len(recs) != len(want) {
		return fmt.Errorf("%d of %d records differ from what the population was built to produce (%d stored)",
			bad, len(exp.Records), len(recs))
	}
	fmt.Fprintf(out, "all %d records ended as expected\n", len(recs))
	return nil
}

func printTable(out io.Writer, recs []*pipeline.Record, want map[string]e2e.Expect) (bad int) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Ref < recs[j].Ref })
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REF\tSHAPE\tSTATUS\tCODE\tRESULT\tSIMILARITY\tATTEMPTS\tREASON\tEXPECTED\tOK")
	for _, r := range recs {
		e := want[r.Ref]
		ok := matches(r, e)
		if !ok {
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Ref, r.Shape, r.Status, intOr(r.Code),
			r.Result, floatOr(r.Similarity), r.Attempts, r.LastErrorCode, describe(e), mark(ok))
	}
	tw.Flush()
	return bad
}

func matches(r *pipeline.Record, e e2e.Expect) bool {
	if r.Status != e.Status {
		return false
	}
	switch e.Status {
	case pipeline.StatusDone, pipeline.StatusReview:
		return r.Code != nil && *r.Code == e.Code && r.Result == e.Result
	case pipeline.StatusRejected:
		return len(r.LastErrorCode) >= len(e.Reject) && r.LastErrorCode[:len(e.Reject)] == e.Reject
	}
	return true
}

func describe(e e2e.Expect) string {
	switch e.Status {
	case pipeline.StatusDone, pipeline.StatusReview:
		return fmt.Sprintf("%s %d %s", e.Status, e.Code, e.Result)
	case pipeline.StatusRejected:
		return "rejected " + e.Reject + "*"
	}
	return string(e.Status)
}

func mark(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func intOr(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

func floatOr(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64)
}
