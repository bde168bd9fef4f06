package ops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/store"
)

// ErasureRequest is who to erase: id numbers (normalised) and records
// named by batch and ref.
type ErasureRequest struct {
	IDNumbers []string
	Refs      []store.BatchRef
}

// maxErasureLine bounds one line of an erasure request.
const maxErasureLine = 4096

// ReadErasureRequest reads an erasure request, one entry a line: an id
// number (as typed on a card: spaces, dashes and a lower-case x are fine)
// or "ref:BATCH:REF". Blank lines and lines starting with # are skipped. A
// line that is neither is refused by its number, never quoted (it may be
// someone's id number mistyped).
func ReadErasureRequest(r io.Reader) (ErasureRequest, error) {
	var req ErasureRequest
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxErasureLine)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "ref:"); ok {
			b, ref, ok := strings.Cut(rest, ":")
			batch, err := strconv.ParseInt(b, 10, 64)
			if !ok || err != nil || batch <= 0 || ref == "" {
				return req, fmt.Errorf("line %d: want ref:BATCH:REF (a batch id, then the record's ref)", line)
			}
			req.Refs = append(req.Refs, store.BatchRef{BatchID: batch, Ref: ref})
			continue
		}
		n, err := identity.NormalizeIDNumber(strings.NewReplacer(" ", "", "-", "").Replace(t))
		if err != nil {
			return req, fmt.Errorf("line %d: not a valid id number (%s), nor ref:BATCH:REF", line, identity.ErrorCode(err))
		}
		req.IDNumbers = append(req.IDNumbers, n)
	}
	if err := sc.Err(); err != nil {
		return req, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(req.IDNumbers) == 0 && len(req.Refs) == 0 {
		return req, errors.New("no id number or ref:BATCH:REF given")
	}
	return req, nil
}

// EraseOptions configure Erase.
type EraseOptions struct {
	Request  ErasureRequest
	Reason   string // required: why (the request's ticket), stored in the audit log
	Operator string
	Pictures PictureDeleter // deletes kept pictures; nil: a record with one refuses the erasure
	DryRun   bool
}

// EraseResult is what an erasure found and did, without personal data.
type EraseResult struct {
	Found    int     // records of the person (and those that reused their verdicts)
	Erased   int     // records whose personal data was removed now
	Pictures int     // kept pictures deleted
	Open     []int64 // records still on their way, left alone: erase again once they finish
	Batches  int     // batches the found records belong to
	DryRun   bool
}

// Erase removes one person's personal data (see store.Erase): every record
// whose id number has the blind index of a requested one, every requested
// ref, and the records that reused their verdicts; their kept pictures'
// objects first. What remains is an anonymous tombstone with the verdict,
// whose inputs' digest is gone, so dedup never answers from it again.
// Records still open are left alone and listed. The audit row holds the
// operator, the reason and the counts, never an id number.
func Erase(ctx context.Context, st *store.Store, keys *pii.Keyring, o EraseOptions) (EraseResult, error) {
	res := EraseResult{DryRun: o.DryRun}
	if strings.TrimSpace(o.Reason) == "" {
		return res, errors.New("erase: a reason is required (the request's reference), for the audit log")
	}
	if keys == nil && len(o.Request.IDNumbers) > 0 {
		return res, fmt.Errorf("erase: %w", pii.ErrNoKeys)
	}
	var hmacs [][]byte
	for _, n := range o.Request.IDNumbers {
		hmacs = append(hmacs, keys.IndexAll(n)...)
	}
	found, err := st.FindPerson(ctx, hmacs, o.Request.Refs)
	if err != nil {
		return res, err
	}
	res.Found = len(found)
	var ids []int64
	batches := map[int64]bool{}
	for _, r := range found {
		batches[r.BatchID] = true
		if r.Open() {
			res.Open = append(res.Open, r.ID)
			continue
		}
		ids = append(ids, r.ID)
	}
	res.Batches = len(batches)
	if o.DryRun {
		res.Erased = len(ids)
		return res, nil
	}
	for _, r := range found {
		if r.Open() || r.PictureRef == "" {
			continue
		}
		if o.Pictures == nil {
			return res, fmt.Errorf("erase: record %d keeps a liveness picture and no picture store is configured (IVSBATCH_KEEP_PICTURES): nothing erased", r.ID)
		}
		if err := o.Pictures.DeletePicture(ctx, r.PictureRef); err != nil {
			return res, fmt.Errorf("erase: delete the kept picture of record %d: %w", r.ID, err)
		}
		res.Pictures++
	}
	a := store.AuditEntry{Operator: o.Operator, Command: "erase", Reason: o.Reason,
		Args:   map[string]any{"id_numbers": len(o.Request.IDNumbers), "refs": len(o.Request.Refs)},
		Result: map[string]any{"found": res.Found, "open": len(res.Open), "pictures_deleted": res.Pictures}}
	erased, err := st.Erase(ctx, ids, a)
	res.Erased = len(erased)
	return res, err
}

// PrintErase writes what an erasure did (or would do).
func PrintErase(w io.Writer, r EraseResult) {
	verb := "erased"
	if r.DryRun {
		verb = "would erase"
	}
	fmt.Fprintf(w, "found %d records in %d batches; %s %d", r.Found, r.Batches, verb, r.Erased)
	if r.Pictures > 0 {
		fmt.Fprintf(w, "; deleted %d kept pictures", r.Pictures)
	}
	fmt.Fprintln(w)
	if len(r.Open) > 0 {
		fmt.Fprintf(w, "%d records are still on their way and were left alone: run the erasure again once they finish (ids %s)\n",
			len(r.Open), joinIDs(r.Open, 20))
	}
}

func joinIDs(ids []int64, n int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == n {
			fmt.Fprintf(&b, " … %d more", len(ids)-n)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
