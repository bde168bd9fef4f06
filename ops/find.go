package ops

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// Found is one record ops find or ops review shows, personal data already
// masked: nothing here can print a name or an id number in full.
type Found struct {
	ID, BatchID int64
	Ref         string
	Line        int
	Status      pipeline.Status
	Verdict     string // "3001 nonexistent", or ""
	Why         string // the error code (or, in review, what put it there)
	Meaning     string // what Why means, when known
	NameMasked  string // identity.MaskName
	IDMasked    string // identity.MaskID
	FinishedAt  *time.Time
	Decision    *store.DecisionRow // the latest review decision, if any
}

// masked turns a record read from the store into a Found.
func masked(r *pipeline.Record) Found {
	f := Found{ID: r.ID, BatchID: r.BatchID, Ref: r.Ref, Line: r.Line, Status: r.Status, Why: r.LastErrorCode,
		NameMasked: identity.MaskName(r.Name), IDMasked: identity.MaskID(r.IDNumber), FinishedAt: r.FinishedAt}
	if r.Code != nil {
		f.Verdict = strconv.Itoa(*r.Code) + " " + r.Result
		if f.Why == "" {
			f.Why = strconv.Itoa(*r.Code)
			f.Meaning = pipeline.VerdictRuleOf(*r.Code).Meaning
		}
	}
	if f.Meaning == "" && r.LastErrorMessage != "" {
		f.Meaning = r.LastErrorMessage // scrubbed of the record's personal data when stored
	}
	return f
}

// withDecisions adds each record's latest review decision.
func withDecisions(ctx context.Context, st *store.Store, recs []*pipeline.Record) ([]Found, error) {
	out := make([]Found, len(recs))
	ids := make([]int64, len(recs))
	for i, r := range recs {
		out[i], ids[i] = masked(r), r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	decisions, err := st.LatestDecisions(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if d, ok := decisions[out[i].ID]; ok {
			out[i].Decision = &d
		}
	}
	return out, nil
}

// FindOptions say what ops find looks up: a ref, or an id number.
type FindOptions struct {
	Ref      string
	IDNumber string // as typed; normalised here (identity.NormalizeIDNumber)
	Limit    int    // default 20
}

// ReadIDNumber reads one id number from r (the first non-empty line), so
// that it never appears in a command line, a shell history or ps.
func ReadIDNumber(r io.Reader) (string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 4096))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			return s, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no id number on standard input")
}

// Find looks records up across batches, newest first, by ref or by id
// number through the blind index (the number is never sent to the
// database), and returns them masked with their latest review decision.
func Find(ctx context.Context, st *store.Store, o FindOptions) ([]Found, error) {
	limit := cmp.Or(o.Limit, 20)
	var (
		recs []*pipeline.Record
		err  error
	)
	switch {
	case o.Ref != "" && o.IDNumber != "":
		return nil, errors.New("find: give a ref or an id number, not both")
	case o.Ref != "":
		recs, err = st.FindByRef(ctx, o.Ref, limit)
	case o.IDNumber != "":
		id, nerr := identity.NormalizeIDNumber(o.IDNumber)
		if nerr != nil {
			return nil, fmt.Errorf("find: the id number read is not one (%s)", identity.ErrorCode(nerr))
		}
		recs, err = st.FindByIDNumber(ctx, id, limit)
	default:
		return nil, errors.New("find: give a ref or an id number")
	}
	if err != nil {
		return nil, err
	}
	return withDecisions(ctx, st, recs)
}

// PrintFound writes one block per record: where it is, its outcome, its
// masked name and id number, and its review decision. Refs, codes and
// reasons are escaped for the terminal (sink.Terminal).
func PrintFound(w io.Writer, found []Found, loc *time.Location) {
	if len(found) == 0 {
		fmt.Fprintln(w, "no record found")
		return
	}
	for _, f := range found {
		fmt.Fprintf(w, "record %d  batch %d  ref %s  line %d\n", f.ID, f.BatchID, sink.Terminal(f.Ref), f.Line)
		fmt.Fprintf(w, "  status %s", f.Status)
		if f.Verdict != "" {
			fmt.Fprintf(w, "  verdict %s", f.Verdict)
		}
		if f.Why != "" && f.Verdict == "" {
			fmt.Fprintf(w, "  code %s", sink.Terminal(f.Why))
		}
		if f.FinishedAt != nil {
			fmt.Fprintf(w, "  finished %s", f.FinishedAt.In(loc).Format("2006-01-02 15:04:05"))
		}
		fmt.Fprintf(w, "\n  name %s  id number %s\n", sink.Terminal(f.NameMasked), sink.Terminal(f.IDMasked))
		if d := f.Decision; d != nil {
			fmt.Fprintf(w, "  review: %s by %s (database user %s) at %s: %s\n", d.Decision, sink.Terminal(d.Operator),
				sink.Terminal(d.DBUser), d.DecidedAt.In(loc).Format("2006-01-02 15:04:05"), sink.Terminal(d.Reason))
		}
	}
}
