package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Fetch reads the object at ref, at most limit bytes. An object larger than
// limit is ErrTooLarge, never a truncation: the size is checked before
// reading (Content-Length, or the file's size) and again while reading.
// A missing object, bucket or file is ErrNotFound; a malformed ref is
// ErrBadRef, and so is a reference the media policy refuses (see CheckRef):
// a file outside the media root or reached through a symlink leading out of
// it, a file with more than one link, a bucket not on the allow-list, a
// kept picture. Errors show the reference masked (MaskRef) and never
// repeat what the S3 library or the file system said about the key.
// Fetch satisfies pipeline.Fetcher.
func (s *Store) Fetch(ctx context.Context, ref string, limit int64) ([]byte, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("objstore: fetch %s: limit %d must be positive", MaskRef(ref), limit)
	}
	rc, size, err := s.open(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > limit {
		return nil, fmt.Errorf("objstore: fetch %s: %d bytes, limit %d: %w", MaskRef(ref), size, limit, ErrTooLarge)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size))
	}
	n, err := io.Copy(&buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("objstore: read %s: %w", MaskRef(ref), err)
	}
	if n > limit {
		return nil, fmt.Errorf("objstore: fetch %s: more than %d bytes: %w", MaskRef(ref), limit, ErrTooLarge)
	}
	return buf.Bytes(), nil
}

// Open streams the object at ref (for manifests: the operator's own file,
// so the media policy does not apply). The caller closes it. Errors are as
// for Fetch.
func (s *Store) Open(ctx context.Context, ref string) (io.ReadCloser, error) {
	rc, _, err := s.open(ctx, ref, false)
	return rc, err
}

// open returns the object's body and its size (-1 when unknown). Media
// (media true) must pass the media policy (CheckRef); a file:// medium is
// opened through the media root, so that no symlink, however swapped in,
// leads out of it.
func (s *Store) open(ctx context.Context, ref string, media bool) (io.ReadCloser, int64, error) {
	scheme, bucket, key, err := ParseRef(ref)
	if err != nil {
		return nil, 0, err
	}
	if media {
		if err := s.policy.checkDeny(ref); err != nil {
			return nil, 0, err
		}
	}
	switch {
	case scheme == SchemeS3 && media:
		if err := s.policy.checkBucket(bucket); err != nil {
			return nil, 0, err
		}
	case scheme == SchemeFile && media:
		return s.openMedia(ref, key)
	case scheme == SchemeFile:
		return openFile(ref, key)
	}
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, 0, wrapS3("get", ref, key, err)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = aws.ToInt64(out.ContentLength)
	}
	return out.Body, size, nil
}

// openMedia opens a file:// medium through the media root (os.Root:
// every path element is opened relative to the one before, a symlink may
// not lead outside the root) without blocking on a FIFO, and refuses what
// is not a regular file with a single link.
func (s *Store) openMedia(ref, path string) (io.ReadCloser, int64, error) {
	rel, err := s.policy.rel(path)
	if err != nil {
		return nil, 0, err
	}
	f, err := s.policy.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, s.policy.openError(ref, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("objstore: stat %s: %w", MaskRef(ref), unwrapPath(err))
	}
	if err := checkFile(ref, fi); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// openFile opens a manifest (the operator's own file, not confined).
func openFile(ref, path string) (io.ReadCloser, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("objstore: open %s: %w", MaskRef(ref), ErrNotFound)
	}
	if err != nil {
		// The *PathError repeats the path: keep only its cause.
		return nil, 0, fmt.Errorf("objstore: open %s: %w", MaskRef(ref), unwrapPath(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("objstore: stat %s: %w", MaskRef(ref), unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("objstore: open %s: not a regular file: %w", MaskRef(ref), ErrNotFound)
	}
	return f, st.Size(), nil
}

// unwrapPath drops the path of an *os.PathError.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}
