package ivs

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Local codes the client stores for an outcome when IVS
// itself gave none. They never collide with IVS codes (which are upper case).
const (
	CodeBadBody    = "client.bad_body"           // a 200 whose body is not the documented JSON
	CodeNoRespData = "client.no_resp_data"       // a 200 without resp_data[0] or with an empty result
	CodeBodyTooBig = "client.body_too_big"       // a body over the client's read limit
	CodeBadRequest = pipeline.CodeRequestInvalid // local validation refused the request (pipeline.RequestError)
	CodeTransport  = "transport"                 // no HTTP answer (TransportError)
	CodeAuth       = "auth"                      // credentials could not be obtained (AuthError)
)

// Error is an HTTP answer that is not a verdict: a 4xx/5xx with the service's
// error_code and error_msg, or a 200 (billed!) whose body could not be used.
// Code is normalised (APIGW.xxxx → APIG.xxxx).
type Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

// Error returns "ivs: HTTP <status> <code>: <message> (request <id>)".
func (e *Error) Error() string {
	s := fmt.Sprintf("ivs: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Is reports whether target is an *Error with the same normalised code (when
// target.Code is set) and the same status (when target.Status is set), so that
// errors.Is(err, &ivs.Error{Code: "APIGW.0308"}) matches an APIG.0308 answer.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || (t.Code == "" && t.Status == 0) {
		return false
	}
	if t.Code != "" && NormalizeCode(t.Code) != NormalizeCode(e.Code) {
		return false
	}
	return t.Status == 0 || t.Status == e.Status
}

// HasCode reports whether err wraps an *Error whose code equals code once
// both are normalised.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && NormalizeCode(e.Code) == NormalizeCode(code)
}

// NormalizeCode trims code and rewrites the gateway prefix APIGW. as APIG.
// (the gateway answers with either); other codes are returned trimmed.
func NormalizeCode(code string) string {
	code = strings.TrimSpace(code)
	if len(code) >= 6 && strings.EqualFold(code[:6], "APIGW.") {
		return "APIG." + code[6:]
	}
	if len(code) >= 5 && strings.EqualFold(code[:5], "APIG.") {
		return "APIG." + code[5:]
	}
	if len(code) >= 4 && strings.EqualFold(code[:4], "IVS.") {
		return "IVS." + code[4:]
	}
	return code
}

// TransportError is a call that got no HTTP answer. Sent reports whether the
// whole request had been written before the failure: if so the service may
// have received, processed and billed it. Timeout reports a deadline.
type TransportError struct {
	Op      string
	Err     error
	Sent    bool
	Timeout bool
}

// Error describes the failure and whether the request was sent.
func (e *TransportError) Error() string {
	return fmt.Sprintf("ivs: %s: %v (sent=%t timeout=%t)", e.Op, e.Err, e.Sent, e.Timeout)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// AuthError is a failure to obtain credentials (an IAM token) before calling
// IVS. Nothing was sent to IVS. Err is an *Error (IAM answered) or a
// *TransportError (IAM unreachable).
type AuthError struct {
	Err error
}

// Error describes the credential failure.
func (e *AuthError) Error() string { return "ivs: get IAM token: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *AuthError) Unwrap() error { return e.Err }

// ErrorCode returns the code to store for err: "" for nil, the normalised
// code of an *Error, CodeBadRequest, CodeAuth, or CodeTransport.
func ErrorCode(err error) string {
	var (
		re *pipeline.RequestError
		ae *AuthError
		e  *Error
		te *TransportError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return CodeBadRequest
	case errors.As(err, &ae):
		return CodeAuth
	case errors.As(err, &e):
		return cmp.Or(NormalizeCode(e.Code), fmt.Sprintf("http.%d", e.Status))
	case errors.As(err, &te):
		return CodeTransport
	}
	return "unknown"
}
