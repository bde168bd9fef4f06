package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// wrapS3 maps a missing key or bucket to ErrNotFound and wraps the rest in
// an error whose message names the reference masked and says what the S3
// library said only as far as it does not repeat the key: the SDK's
// messages carry the request URL (the key, percent-encoded), and a store's
// error text may echo it. errors.Is and errors.As still see the SDK's error.
func wrapS3(op, ref, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("objstore: %s %s: %w", op, MaskRef(ref), ErrNotFound)
	}
	return &s3Error{msg: fmt.Sprintf("objstore: %s %s: %s", op, MaskRef(ref), describeS3(err, key)), err: err}
}

// s3Error is an S3 library error with a message of our own.
type s3Error struct {
	msg string
	err error
}

func (e *s3Error) Error() string { return e.msg }
func (e *s3Error) Unwrap() error { return e.err }

// describeS3 says what went wrong without the key: the outermost message
// of err's chain that holds no form of it (usually the SDK's whole message
// for an API error, the dial error for an unreachable store), else only the
// HTTP status and S3 error code.
func describeS3(err error, key string) string {
	forms := keyForms(key)
	for e := err; e != nil; e = errors.Unwrap(e) {
		if msg := e.Error(); !containsAny(msg, forms) {
			return msg
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	desc := "S3 request failed"
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok && re.HTTPStatusCode() != 0 {
		desc += fmt.Sprintf(": HTTP %d", re.HTTPStatusCode())
	}
	if api, ok := errors.AsType[smithy.APIError](err); ok && safeCode.MatchString(api.ErrorCode()) {
		desc += " " + api.ErrorCode()
	}
	return desc + " (the message repeated the key and is not shown)"
}

var safeCode = regexp.MustCompile(`^[A-Za-z0-9.]{1,64}$`)

// keyForms are the ways a message may spell key or its last element or
// stem: as written, percent-encoded as the SDK puts it in a URL path, as
// url.PathEscape and url.QueryEscape would, quoted. Forms shorter than four
// bytes are left out (they would match anything).
func keyForms(key string) []string {
	var forms []string
	base := path.Base(key)
	for _, s := range []string{key, base, strings.TrimSuffix(base, path.Ext(base))} {
		for _, f := range []string{s, escapeURIPath(s), url.PathEscape(s), url.QueryEscape(s),
			strings.Trim(fmt.Sprintf("%q", s), `"`)} {
			if len(f) >= 4 {
				forms = append(forms, f)
			}
		}
	}
	return forms
}

// escapeURIPath percent-encodes every byte but the unreserved ones and
// "/", as the SDK encodes a key in the request path.
func escapeURIPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
