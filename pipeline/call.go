package pipeline

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultCallTimeout bounds one IVS call unless configured otherwise (the
// IVS client's default; IVS_TIMEOUT).
const DefaultCallTimeout = 30 * time.Second

// MaxUUIDLen is the longest meta.uuid IVS accepts.
const MaxUUIDLen = 64

// Call is one request the processor asks a Verifier to send: a record
// generation's shape and uuid with its prepared input. Media fields hold
// the prepared media as standard base64, which is what IVS takes.
type Call struct {
	Shape        Shape
	UUID         string // meta.uuid, 1–64 characters (TaskRef.UUID)
	Name         string // verification_name (text shapes)
	IDNumber     string // verification_id (text shapes)
	IDCard1      string
	IDCard2      string
	FaceImage    string
	Video        string
	Actions      string // comma-separated action codes 1–5 (video shapes)
	NodThreshold *float64
	Detail       *bool
	Crop         *bool
}

// Check checks what can be known of c without calling IVS (see
// CheckRequest). It returns a *RequestError, or nil.
func (c Call) Check() error {
	set := map[string]bool{
		"verification_name": c.Name != "", "verification_id": c.IDNumber != "", "idcard_image1": c.IDCard1 != "",
		"idcard_image2": c.IDCard2 != "", "face_image": c.FaceImage != "", "video": c.Video != "",
		"actions": c.Actions != "", "nod_threshold": c.NodThreshold != nil, "detail": c.Detail != nil, "crop": c.Crop != nil,
	}
	return CheckRequest(c.Shape, c.UUID, func(field string) bool { return set[field] }, c.Actions, c.NodThreshold)
}

// CheckRequest checks the rules of a request that do not depend on the
// media's content: a known shape, a uuid of 1–64 characters, every field
// the shape requires present (isSet, by the field's IVS name) and none of
// another shape, well-formed actions and a nod_threshold within 1–90. It
// returns a *RequestError naming the field (never its value), or nil.
// Content rules (id check characters, name characters, image sizes) belong
// to the identity and media packages, which run earlier.
func CheckRequest(s Shape, uuid string, isSet func(field string) bool, actions string, nod *float64) error {
	if !s.Valid() {
		return &RequestError{Field: "shape", Reason: "unknown shape " + strconv.Quote(string(s))}
	}
	if uuid == "" {
		return &RequestError{Field: "meta.uuid", Reason: "empty"}
	}
	if n := utf8.RuneCountInString(uuid); n > MaxUUIDLen {
		return &RequestError{Field: "meta.uuid", Reason: "longer than 64 characters (" + strconv.Itoa(n) + ")"}
	}
	if f, reason := s.CheckFields(func(f ShapeField) bool { return isSet(f.Request) }); reason != "" {
		return &RequestError{Field: f.Request, Reason: reason}
	}
	if !s.UsesVideo() {
		return nil
	}
	if _, err := ParseActions(actions); err != nil {
		return err
	}
	if nod != nil && (*nod < 1 || *nod > 90) {
		return &RequestError{Field: "nod_threshold", Reason: "outside 1–90 degrees"}
	}
	return nil
}

// ParseActions parses the comma-separated liveness action codes (1 shake left,
// 2 shake right, 3 nod, 4 mouth, 5 blink). It refuses an empty list, unknown
// codes and repeats with a *RequestError.
func ParseActions(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &RequestError{Field: "actions", Reason: "empty"}
	}
	var out []int
	seen := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 5 {
			return nil, &RequestError{Field: "actions", Reason: "action " + strconv.Quote(p) + " is not one of 1–5"}
		}
		if seen[n] {
			return nil, &RequestError{Field: "actions", Reason: "action " + strconv.Itoa(n) + " repeated"}
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// CodeRequestInvalid is the reject code of a RequestError.
const CodeRequestInvalid = "request.invalid"

// RequestError is a request refused before sending because it breaks the
// API's rules (shape, uuid, missing or foreign fields, actions). Nothing was
// sent. Messages name fields, never their values. It is a Rejection.
type RequestError struct {
	Field  string
	Reason string
}

// Error returns "ivs: invalid request: <field>: <reason>".
func (e *RequestError) Error() string {
	return "ivs: invalid request: " + e.Field + ": " + e.Reason
}

// RejectCode returns CodeRequestInvalid.
func (e *RequestError) RejectCode() string { return CodeRequestInvalid }

// Reply is a verdict IVS gave for a Call: an HTTP 200, billed.
type Reply struct {
	HTTPStatus int
	RequestID  string // X-Request-Id
	// Verdict is what IVS concluded; its Code is set, its PictureRef empty.
	Verdict Verdict
	// Picture is the liveness picture of a video verdict (a face: personal
	// data; JPEG bytes), nil when IVS sent none.
	Picture []byte
}

// CallError is a call that ended without a verdict, as the Verifier
// classified it: a Verifier's errors are (or wrap) one, so that the
// processor reads what it needs without knowing the client's error types,
// as store errors are pipeline sentinels.
type CallError struct {
	Class          Class
	Code           string // what to store: an IVS code ("IVS.0011", "APIG.0308") or the client's ("transport", "auth")
	HTTPStatus     int    // 0 when no answer came; 200 when the answer was billed but unusable
	RequestID      string
	Message        string // the answer's message, or what went wrong
	PossiblyBilled bool   // no answer, but the request had been written: it may have been billed
	Err            error  // the Verifier's own error
}

// Error returns the Verifier's error's text (else the message).
func (e *CallError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the Verifier's own error.
func (e *CallError) Unwrap() error { return e.Err }

// CallErrorOf returns the *CallError in err's chain; an error without one
// is ClassUnknown with code "unknown". It returns nil for nil.
func CallErrorOf(err error) *CallError {
	if err == nil {
		return nil
	}
	if ce, ok := errors.AsType[*CallError](err); ok {
		return ce
	}
	return &CallError{Class: ClassUnknown, Code: "unknown", Message: err.Error(), Err: err}
}

// ClassOf is the class of a Verifier's answer: ClassVerdict for nil, else
// the class of the *CallError in err's chain (ClassUnknown without one).
func ClassOf(err error) Class {
	if err == nil {
		return ClassVerdict
	}
	return CallErrorOf(err).Class
}
