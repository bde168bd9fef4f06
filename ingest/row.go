package ingest

import (
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Row error codes of ingest itself. Identity failures keep identity's own
// codes (id.length, id.check, name.chars, name.private_use, ...), which the
// rest of ivsbatch already reports.
const (
	CodeMalformed    = "input.malformed"     // the row could not be read (bad quoting, bad JSON, unknown key)
	CodeRef          = "input.ref"           // ref too long or with control characters
	CodeShape        = "input.shape"         // unknown shape, no shape inferable, a required field missing or a foreign one set
	CodeMediaRef     = "input.media_ref"     // not s3://bucket/key or file:///abs/path
	CodeActions      = "input.actions"       // actions not a list of distinct codes 1–5
	CodeNodThreshold = "input.nod_threshold" // not a number in 1–90
	CodeBool         = "input.bool"          // detail/crop not true/false/1/0
	CodeDuplicateRef = "input.duplicate_ref" // the ref appeared earlier in the manifest
	CodeEncoding     = "input.encoding"      // bytes not valid in the manifest's encoding (U+FFFD after decoding)
	CodeIDScientific = "input.id_scientific" // a spreadsheet turned the id number into 1.10101E+17: digits lost
)

// ReviewPrefix marks codes of rows set aside for a human rather than refused.
// identity.CodeNamePrivateUse (name.private_use) is a review code too.
const ReviewPrefix = "review."

// RowError says why a row is refused or set aside. Its Reason never contains
// an id number or a name in full.
type RowError struct {
	Line   int
	Field  string // the manifest column at fault; empty for the whole row
	Code   string
	Reason string
}

// Error returns "line 12: id_number: <reason>".
func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
}

// RejectCode returns the stable code, so a RowError satisfies pipeline.Rejection.
func (e *RowError) RejectCode() string { return e.Code }

// Review reports whether the row goes to a human (status review) rather than
// being rejected: Private Use Area names, and any review.* code.
func (e *RowError) Review() bool {
	return e.Code == identity.CodeNamePrivateUse || strings.HasPrefix(e.Code, ReviewPrefix)
}

// message is what is stored as the record's error message: the field and the
// reason (the line is stored on its own).
func (e *RowError) message() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Row is a manifest row after validation. When Err is nil, Input is
// normalised and ready to store as pending; otherwise Input holds whatever
// could be read, raw, so that the refused row is stored without loss.
type Row struct {
	Line  int
	Input pipeline.Input
	Err   *RowError
}
