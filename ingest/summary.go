package ingest

import (
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// Summary counts a manifest's rows; Submit fills the other fields.
type Summary struct {
	BatchID  int64
	Created  bool // false when the same manifest had been submitted before
	Rows     int  // data rows read
	Valid    int  // rows stored as pending
	Rejected int  // rows refused (stored as rejected with their reason)
	Review   int  // rows set aside for a human (stored as review)
	Inserted int  // records added now (0 when everything was already there)
	Bad      []*RowError
	Info     // how the manifest was read (format, encoding, delimiter, sheet, extra columns)
}

// Add counts row.
func (s *Summary) Add(row Row) {
	s.Rows++
	switch {
	case row.Err == nil:
		s.Valid++
	case row.Err.Review():
		s.Review++
	default:
		s.Rejected++
	}
}

// ToNewRecord maps a row to what the store inserts: a valid row as pending;
// a review row (name.private_use, review.*) as review; any other refused row
// as rejected, with its code and "field: reason" as the error, and its raw
// fields kept. Ref defaults to "line-<n>".
func ToNewRecord(row Row) store.NewRecord {
	rec := store.NewRecord{Input: row.Input}
	if rec.Line == 0 {
		rec.Line = row.Line
	}
	if rec.Ref == "" {
		rec.Ref = defaultRef(rec.Line)
	}
	if row.Err == nil {
		rec.Status = pipeline.StatusPending
		return rec
	}
	rec.Status = pipeline.StatusRejected
	if row.Err.Review() {
		rec.Status = pipeline.StatusReview
	}
	rec.ErrorCode, rec.ErrorMessage = row.Err.Code, sanitize(row.Err.message())
	// Raw values of a refused row may hold bytes PostgreSQL text refuses.
	for _, f := range []*string{&rec.Name, &rec.IDNumber, &rec.IDCard1, &rec.IDCard2, &rec.FaceImage,
		&rec.Video, &rec.Actions} {
		*f = sanitize(*f)
	}
	rec.Shape = pipeline.Shape(sanitize(string(rec.Shape)))
	return rec
}

// sanitize makes s valid UTF-8 without NUL bytes.
func sanitize(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
