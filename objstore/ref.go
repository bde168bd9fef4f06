package objstore

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

// Reference schemes.
const (
	SchemeS3   = "s3"
	SchemeFile = "file"
)

// maxKeyLen is S3's limit on an object key, in bytes.
const maxKeyLen = 1024

// ParseRef splits s3://bucket/key or file:///abs/path. For file references
// bucket is empty and key is the absolute path. Nothing is percent-decoded:
// the key is used exactly as written. Every other form (another scheme, a
// relative path, a plain path without scheme, an empty bucket or key, a key
// with an empty, "." or ".." segment — "a//b", "a/", "../secret/x.jpg" —,
// control characters) is an error wrapping ErrBadRef: an S3-compatible
// store on a file system may resolve such keys outside the bucket.
func ParseRef(ref string) (scheme, bucket, key string, err error) {
	if r, bad := sink.FirstControl(ref); bad && r == utf8.RuneError {
		return "", "", "", fmt.Errorf("%w: bytes that are not UTF-8", ErrBadRef)
	} else if bad {
		return "", "", "", fmt.Errorf("%w: a control or bidirectional-formatting character (%U)", ErrBadRef, r)
	}
	switch {
	case strings.HasPrefix(ref, "s3://"):
		rest := ref[len("s3://"):]
		bucket, key, _ = strings.Cut(rest, "/")
		if !validBucket(bucket) {
			return "", "", "", fmt.Errorf("%w: %s: bucket must be 1–63 of a-z 0-9 . - _ (want s3://bucket/key)", ErrBadRef, MaskRef(ref))
		}
		if key == "" || len(key) > maxKeyLen {
			return "", "", "", fmt.Errorf("%w: %s: want s3://bucket/key with a non-empty key", ErrBadRef, MaskRef(ref))
		}
		if !cleanKey(key) {
			return "", "", "", fmt.Errorf("%w: %s: a key segment is empty, \".\" or \"..\" (want s3://bucket/dir/name)", ErrBadRef, MaskRef(ref))
		}
		return SchemeS3, bucket, key, nil
	case strings.HasPrefix(ref, "file://"):
		p := ref[len("file://"):]
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p {
			return "", "", "", fmt.Errorf("%w: %s: want file:///absolute/clean/path", ErrBadRef, MaskRef(ref))
		}
		return SchemeFile, "", p, nil
	}
	return "", "", "", fmt.Errorf("%w: %s: scheme must be s3:// or file://", ErrBadRef, MaskRef(ref))
}

// cleanKey reports whether no "/"-separated segment of key is empty, "."
// or "..".
func cleanKey(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func validBucket(b string) bool {
	if len(b) == 0 || len(b) > 63 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
