// Package rejection holds the one error type that says an input is known to
// fail before any paid call: a stable machine-readable code and a human
// message. The identity rules, the media checks and the worker's fetcher all
// return it; the pipeline stores its code as the record's reason. It imports
// nothing of ivsbatch, so every package can use it without cycles.
package rejection

import "errors"

// Error is a local rejection: a stable Code ("id.check", "media.not_image",
// "media.missing" …) and a human Message that never repeats personal data or
// media bytes. Err, when set, is the underlying cause.
type Error struct {
	Code    string
	Message string
	Err     error
}

// New returns a rejection with code and message.
func New(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Wrap returns a rejection with code whose message and cause are err.
func Wrap(code string, err error) *Error { return &Error{Code: code, Message: err.Error(), Err: err} }

// Error returns the code and message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// RejectCode returns the stable code (pipeline.Rejection).
func (e *Error) RejectCode() string { return e.Code }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the Code of the *Error in err's chain, or "" if none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
