package identity

import "github.com/ivsbatch/ivsbatch/rejection"

// Error codes. Each is the RejectCode of an *Error.
const (
	CodeIDLength       = "id.length"        // not 15 or 18 characters after normalisation
	CodeIDChars        = "id.chars"         // a character other than a digit (or X last)
	CodeIDRegion       = "id.region"        // region code does not start with a province code
	CodeIDDate         = "id.date"          // birth date is not a calendar date, or before 1900
	CodeIDFuture       = "id.future"        // birth date is after today
	CodeIDCheck        = "id.check"         // MOD 11-2 check character does not match
	CodeNameEmpty      = "name.empty"       // nothing left after trimming
	CodeNameChars      = "name.chars"       // a character other than Han or a well-placed middle dot
	CodeNamePrivateUse = "name.private_use" // Private Use Area characters: needs a human
	CodeNameTooLong    = "name.too_long"    // more than MaxNameRunes characters
)

// Error is a failed identity check: a stable Code (the constants above) and a
// human Message that never repeats the full value checked. It is the one
// rejection type of ivsbatch (rejection.Error).
type Error = rejection.Error

// ErrorCode returns the Code of the *Error in err's chain, or "" if none.
func ErrorCode(err error) string { return rejection.Code(err) }

func newError(code, msg string) *Error { return rejection.New(code, msg) }
