package objstore

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Environment variables of the media policy.
const (
	EnvMediaRoot = "IVSBATCH_MEDIA_ROOT" // file:// references must lie under this directory
	EnvBuckets   = "IVSBATCH_S3_BUCKETS" // comma-separated allow-list of S3 buckets ("*": any)
)

// AnyBucket, as the whole of Config.Buckets, lets media come from every
// bucket the credentials reach.
const AnyBucket = "*"

// policy is where media references may point. It fails closed: no root
// refuses every file:// reference, no bucket every s3:// one.
type policy struct {
	root      *os.Root        // the media root, opened once; nil refuses every file:// reference
	roots     []string        // its path as configured and resolved, for the lexical check
	buckets   map[string]bool // nil refuses every bucket
	anyBucket bool
	deny      []string // reference prefixes that are never media, each ending in "/"
}

func newPolicy(cfg Config) (policy, error) {
	var p policy
	if cfg.MediaRoot != "" {
		root, resolved, err := openMediaRoot(cfg.MediaRoot)
		if err != nil {
			return p, err
		}
		p.root, p.roots = root, slices.Compact([]string{filepath.Clean(cfg.MediaRoot), resolved})
	}
	if len(cfg.Buckets) == 1 && cfg.Buckets[0] == AnyBucket {
		p.anyBucket = true
	} else {
		for _, b := range cfg.Buckets {
			if !validBucket(b) {
				return p, fmt.Errorf("objstore: %s: bucket %q: want names of 1–63 of a-z 0-9 . - _, comma-separated, or %q alone for any bucket",
					EnvBuckets, b, AnyBucket)
			}
			if p.buckets == nil {
				p.buckets = map[string]bool{}
			}
			p.buckets[b] = true
		}
	}
	for _, d := range cfg.DenyPrefixes {
		prefix, err := p.denyPrefix(d)
		if err != nil {
			return p, err
		}
		p.deny = append(p.deny, prefix)
	}
	return p, nil
}

// openMediaRoot opens the media root directory and returns it with its
// resolved path.
func openMediaRoot(dir string) (*os.Root, string, error) {
	bad := func(detail string) error {
		return fmt.Errorf("objstore: %s=%q: want an absolute path to an existing directory%s", EnvMediaRoot, dir, detail)
	}
	if !filepath.IsAbs(dir) {
		return nil, "", bad("")
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, "", bad(": " + unwrapPath(err).Error())
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
		return nil, "", bad("")
	}
	root, err := os.OpenRoot(resolved)
	if err != nil {
		return nil, "", bad(": " + unwrapPath(err).Error())
	}
	return root, resolved, nil
}

// denyPrefix checks one Config.DenyPrefixes entry (s3://bucket[/prefix] or
// file:///dir) and returns it ending in "/". A file:// prefix must not
// overlap the media root: file:// media are opened inside the root only,
// so kept pictures outside it can never be read as media.
func (p policy) denyPrefix(d string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("objstore: kept-pictures location %s: %s", MaskRef(d), why)
	}
	trimmed := strings.TrimRight(d, "/")
	if b, ok := strings.CutPrefix(trimmed, "s3://"); ok && !strings.Contains(b, "/") {
		if !validBucket(b) {
			return "", bad("want s3://bucket[/prefix] or file:///dir")
		}
		return trimmed + "/", nil
	}
	scheme, _, key, err := ParseRef(trimmed)
	if err != nil {
		return "", bad("want s3://bucket[/prefix] or file:///dir")
	}
	if scheme == SchemeFile {
		for _, r := range p.roots {
			if under(r, key) || under(key, r) {
				return "", bad(fmt.Sprintf("overlaps the media root (%s): keep pictures outside it", EnvMediaRoot))
			}
		}
		if resolved, err := filepath.EvalSymlinks(key); err == nil {
			for _, r := range p.roots {
				if under(r, resolved) || under(resolved, r) {
					return "", bad(fmt.Sprintf("overlaps the media root (%s) through a symlink: keep pictures outside it", EnvMediaRoot))
				}
			}
		}
	}
	return trimmed + "/", nil
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
// well-formed reference, not under a kept-pictures location, an S3 bucket
// on the allow-list, a file:// path under the media root (and, when the
// file exists, a regular file with one link that opening through the root
// reaches without leaving it). Errors wrap ErrBadRef and never repeat the
// reference (paths are often named after people).
func (s *Store) CheckRef(ref string) error {
	scheme, bucket, key, err := ParseRef(ref)
	if err != nil {
		return err
	}
	if err := s.policy.checkDeny(ref); err != nil {
		return err
	}
	if scheme == SchemeS3 {
		return s.policy.checkBucket(bucket)
	}
	rel, err := s.policy.rel(key)
	if err != nil {
		return err
	}
	fi, err := s.policy.root.Stat(rel)
	if errors.Is(err, os.ErrNotExist) {
		return nil // not there yet: the lexical check is all there is
	}
	if err != nil {
		return s.policy.openError(ref, err)
	}
	return checkFile(ref, fi)
}

func (p policy) checkDeny(ref string) error {
	for _, d := range p.deny {
		if strings.HasPrefix(ref, d) {
			return fmt.Errorf("%w: %s lies where liveness pictures are kept: never a media source", ErrBadRef, MaskRef(ref))
		}
	}
	return nil
}

func (p policy) checkBucket(bucket string) error {
	switch {
	case p.anyBucket || p.buckets[bucket]:
		return nil
	case p.buckets == nil:
		return fmt.Errorf("%w: s3:// media are refused: no bucket is allowed (%s)", ErrBadRef, EnvBuckets)
	}
	return fmt.Errorf("%w: bucket %q is not in %s", ErrBadRef, bucket, EnvBuckets)
}

// rel returns the path of file p relative to the media root, after the
// lexical check that it lies under it.
func (p policy) rel(file string) (string, error) {
	if p.root == nil {
		return "", fmt.Errorf("%w: file:// references are refused: no media root is configured (%s)", ErrBadRef, EnvMediaRoot)
	}
	for _, r := range p.roots {
		if rel, err := filepath.Rel(r, file); err == nil && under(r, file) {
			return rel, nil
		}
	}
	return "", fmt.Errorf("%w: file:// reference outside the media root (%s)", ErrBadRef, EnvMediaRoot)
}

// openError maps an error of opening through the root: missing is
// ErrNotFound, leaving the root (a symlink out of it) is ErrBadRef. The
// path is never repeated.
func (p policy) openError(ref string, err error) error {
	cause := unwrapPath(err)
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("objstore: file %s: %w", MaskRef(ref), ErrNotFound)
	case cause.Error() == "path escapes from parent", errors.Is(err, syscall.ELOOP):
		// os.Root refuses a symlink that leads out of the root (or loops).
		return fmt.Errorf("%w: file:// reference leads outside the media root (%s) through a symlink", ErrBadRef, EnvMediaRoot)
	}
	return fmt.Errorf("objstore: file %s: %w", MaskRef(ref), cause)
}

// checkFile refuses what is not a regular file with a single link: a
// directory, a device or FIFO, and a hard link (which could make another
// person's file, anywhere on the file system, appear inside the media root).
func checkFile(ref string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("objstore: file %s: not a regular file: %w", MaskRef(ref), ErrNotFound)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		n := uint64(0)
		if ok {
			n = uint64(st.Nlink)
		}
		return fmt.Errorf("%w: file %s has %d hard links: refused (only files with a single link are read)", ErrBadRef, MaskRef(ref), n)
	}
	return nil
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
		if !validBucket(bucket) {
			bucket = "…" // not a bucket name: it could be anything
		}
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

// maskStem keeps the first two and last two characters of a long ASCII
// stem (an id number shows as identity.MaskID shows it) and only the first
// character of anything else (a name shows as identity.MaskName shows it).
func maskStem(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) < 10 || len(r) != len(s):
		return string(r[0]) + strings.Repeat("*", max(len(r)-1, 1))
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}
