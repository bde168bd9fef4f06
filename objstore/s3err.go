package objstore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/ivsbatch/ivsbatch/internal/sink"
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
	base := path.Base(key)
	for e := err; e != nil; e = errors.Unwrap(e) {
		if msg := e.Error(); !sink.Mentions(msg, key, base, strings.TrimSuffix(base, path.Ext(base))) {
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
