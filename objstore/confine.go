package objstore

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Environment variables of the media policy.
const (
	EnvMediaRoot = "IVSBATCH_MEDIA_ROOT" // file:// references must lie under this directory
	EnvBuckets   = "IVSBATCH_S3_BUCKETS" // comma-separated allow-list of S3 buckets
)

// policy is where media references may point.
type policy struct {
	root    string          // resolved media root; "" refuses every file:// reference
	buckets map[string]bool // nil allows every bucket
}

func newPolicy(root string, buckets []string) (policy, error) {
	var p policy
	if root != "" {
		if !filepath.IsAbs(root) {
			return p, fmt.Errorf("objstore: %s=%q: want an absolute path to an existing directory", EnvMediaRoot, root)
		}
		resolved, err := filepath.EvalSymlinks(root)
		if err != nil {
			return p, fmt.Errorf("objstore: %s=%q: want an absolute path to an existing directory: %v", EnvMediaRoot, root, errors.Unwrap(err))
		}
		if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
			return p, fmt.Errorf("objstore: %s=%q: want an absolute path to an existing directory", EnvMediaRoot, root)
		}
		p.root = resolved
	}
	for _, b := range buckets {
		if !validBucket(b) {
			return p, fmt.Errorf("objstore: %s: bucket %q: want names of 1–63 of a-z 0-9 . - _, comma-separated", EnvBuckets, b)
		}
		if p.buckets == nil {
			p.buckets = map[string]bool{}
		}
		p.buckets[b] = true
	}
	return p, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// CheckRef says whether ref may be read as media, without reading it: a
// well-formed reference, an S3 bucket on the allow-list (when there is
// one), a file:// path under the media root (also once its symlinks are
// resolved, when it exists). Errors wrap ErrBadRef and never repeat the
// reference (paths are often named after people).
func (s *Store) CheckRef(ref string) error {
	scheme, bucket, key, err := ParseRef(ref)
	if err != nil {
		return err
	}
	if scheme == SchemeS3 {
		if s.policy.buckets != nil && !s.policy.buckets[bucket] {
			return fmt.Errorf("%w: bucket %q is not in %s", ErrBadRef, bucket, EnvBuckets)
		}
		return nil
	}
	_, err = s.confine(key, false)
	return err
}

// confine checks that the file path lies under the media root, lexically
// and after resolving symlinks, and returns the resolved path. With
// mustExist false a missing file passes on its lexical check alone.
func (s *Store) confine(p string, mustExist bool) (string, error) {
	root := s.policy.root
	if root == "" {
		return "", fmt.Errorf("%w: file:// references are refused: no media root is configured (%s)", ErrBadRef, EnvMediaRoot)
	}
	if !under(root, p) {
		return "", fmt.Errorf("%w: file:// reference outside the media root (%s)", ErrBadRef, EnvMediaRoot)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return p, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("objstore: file %s: %w", MaskRef("file://"+p), ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("objstore: file %s: %v", MaskRef("file://"+p), errors.Unwrap(err))
	}
	if !under(root, resolved) {
		return "", fmt.Errorf("%w: file:// reference leads outside the media root (%s) through a symlink", ErrBadRef, EnvMediaRoot)
	}
	return resolved, nil
}

// under reports whether clean absolute path p is root or inside it.
func under(root, p string) bool {
	p = path.Clean(p)
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// MaskRef shows a media reference without the names its path may carry:
// the scheme and bucket, then only the last element with its middle
// starred ("s3://media/…/11**************07.jpg", "file:///…/王*.jpg").
func MaskRef(ref string) string {
	scheme, rest, ok := strings.Cut(ref, "://")
	if !ok {
		return maskStem(path.Base(ref))
	}
	prefix := scheme + "://"
	if scheme == SchemeS3 {
		bucket, _, _ := strings.Cut(rest, "/")
		prefix += bucket + "/"
	} else {
		prefix += "/"
	}
	base := path.Base(rest)
	ext := path.Ext(base)
	if len(ext) > 6 {
		ext = ""
	}
	return prefix + "…/" + maskStem(strings.TrimSuffix(base, ext)) + ext
}

// maskStem keeps the first two and last two characters of a long stem and
// the first of a short one.
func maskStem(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 4:
		return string(r[0]) + "*"
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}
