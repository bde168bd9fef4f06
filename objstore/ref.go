package objstore

import (
	"fmt"
	"path"
	"strings"
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
// ending in "/", control characters) is an error wrapping ErrBadRef.
func ParseRef(ref string) (scheme, bucket, key string, err error) {
	if i := strings.IndexFunc(ref, isControl); i >= 0 {
		return "", "", "", fmt.Errorf("%w: control character at byte %d", ErrBadRef, i)
	}
	switch {
	case strings.HasPrefix(ref, "s3://"):
		rest := ref[len("s3://"):]
		bucket, key, _ = strings.Cut(rest, "/")
		if !validBucket(bucket) {
			return "", "", "", fmt.Errorf("%w: %s: bucket must be 1–63 of a-z 0-9 . - _ (want s3://bucket/key)", ErrBadRef, MaskRef(ref))
		}
		if key == "" || strings.HasSuffix(key, "/") || len(key) > maxKeyLen {
			return "", "", "", fmt.Errorf("%w: %s: want s3://bucket/key with a non-empty key", ErrBadRef, MaskRef(ref))
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

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

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
