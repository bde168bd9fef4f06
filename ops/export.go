package ops

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ExportColumns is the header of ops export's CSV.
var ExportColumns = []string{"id", "ref", "line", "shape", "status", "verdict", "verification_code", "similarity",
	"last_error_code", "last_error_message", "attempts", "finished_at", "linked_record_id", "name_masked", "id_number_masked", "metadata"}

// Export writes every record of batchID as CSV (ExportColumns), personal
// data masked (identity.MaskName, identity.MaskID; never in full), the
// manifest's own extra columns in metadata (a JSON object, as given, so
// results join back to the customer's keys), and
// returns the number of records. The audit row is the caller's (ExportAudited).
func Export(ctx context.Context, st *store.Store, batchID int64, w io.Writer) (int, error) {
	if _, err := st.GetBatch(ctx, batchID); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return 0, err
	}
	n := 0
	err := st.EachRecord(ctx, batchID, nil, func(r *pipeline.Record) error {
		n++
		return cw.Write(exportRow(r))
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	return n, cw.Error()
}

// ExportAudited is Export followed by its audit row (the output path, the row count).
func ExportAudited(ctx context.Context, st *store.Store, batchID int64, w io.Writer, path, operator string) (int, error) {
	n, err := Export(ctx, st, batchID, w)
	if err != nil {
		return n, err
	}
	return n, st.Audit(ctx, store.AuditEntry{Operator: operator, Command: "export", BatchID: batchID,
		Args: map[string]any{"batch": batchID, "output": path}, Result: map[string]any{"records": n}})
}

func exportRow(r *pipeline.Record) []string {
	code, sim, finished := "", "", ""
	if r.Code != nil {
		code = strconv.Itoa(*r.Code)
	}
	if r.Similarity != nil {
		sim = strconv.FormatFloat(*r.Similarity, 'f', -1, 64)
	}
	if r.FinishedAt != nil {
		finished = r.FinishedAt.UTC().Format(time.RFC3339)
	}
	linked := ""
	if r.LinkedRecordID != nil {
		linked = strconv.FormatInt(*r.LinkedRecordID, 10) // answered by reuse: no call
	}
	return []string{strconv.FormatInt(r.ID, 10), r.Ref, strconv.Itoa(r.Line), string(r.Shape), string(r.Status),
		r.Result, code, sim, r.LastErrorCode, scrub(r.LastErrorMessage, r), strconv.Itoa(r.Attempts), finished, linked,
		identity.MaskName(r.Name), identity.MaskID(r.IDNumber), r.Metadata}
}

// scrub masks the record's name and id number should a message ever carry
// them (messages are written to mask values; this is a second guard).
func scrub(msg string, r *pipeline.Record) string {
	if r.IDNumber != "" {
		msg = strings.ReplaceAll(msg, r.IDNumber, identity.MaskID(r.IDNumber))
	}
	if len([]rune(r.Name)) > 1 {
		msg = strings.ReplaceAll(msg, r.Name, identity.MaskName(r.Name))
	}
	return msg
}
