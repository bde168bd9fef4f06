package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Put writes data at ref, replacing what is there. For file references the
// parent directories are created and the file is replaced atomically.
func (s *Store) Put(ctx context.Context, ref string, data []byte, contentType string) error {
	return s.put(ctx, ref, data, contentType, 0o644, 0o755)
}

// PutPrivate is Put for personal data: a file is readable by its owner
// only (0600, in directories it creates 0700).
func (s *Store) PutPrivate(ctx context.Context, ref string, data []byte, contentType string) error {
	return s.put(ctx, ref, data, contentType, 0o600, 0o700)
}

func (s *Store) put(ctx context.Context, ref string, data []byte, contentType string, mode, dirMode os.FileMode) error {
	scheme, bucket, key, err := ParseRef(ref)
	if err != nil {
		return err
	}
	if scheme == SchemeFile {
		return putFile(ref, key, data, mode, dirMode)
	}
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data)))}
	if contentType != "" {
		in.ContentType = &contentType
	}
	if _, err := s.s3.PutObject(ctx, in); err != nil {
		return wrapS3("put", ref, key, err)
	}
	return nil
}

func putFile(ref, path string, data []byte, mode, dirMode os.FileMode) error {
	fail := func(err error) error { return fmt.Errorf("objstore: put %s: %w", MaskRef(ref), unwrapPath(err)) }
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(unwrapPath(werr), unwrapPath(cerr)); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fail(unwrapLink(err))
	}
	return nil
}

// unwrapLink drops the paths of an *os.LinkError (a failed rename).
func unwrapLink(err error) error {
	if le, ok := errors.AsType[*os.LinkError](err); ok {
		return le.Err
	}
	return err
}

// EnsureBucket creates bucket unless it exists (and is ours).
func (s *Store) EnsureBucket(ctx context.Context, bucket string) error {
	if !validBucket(bucket) {
		return fmt.Errorf("objstore: bucket %q: %w", bucket, ErrBadRef)
	}
	if _, err := s.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		return nil
	}
	_, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		// Created concurrently, or owned by someone else: only the former is fine.
		if _, herr := s.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); herr == nil {
			return nil
		}
	}
	return fmt.Errorf("objstore: create bucket %s: %w", bucket, err)
}

// isNotFound reports a missing key or bucket. A 404 whose S3 error code
// says something else (versitygw answers an unknown access key with 404
// XAdminUserNotFound) is not: the record's media is not at fault.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nsb) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() != "" {
		switch api.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return true
		}
		return false
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// Delete removes the object at ref. An object that is not there is not an
// error: deleting is idempotent (a purge interrupted after the delete runs
// it again).
func (s *Store) Delete(ctx context.Context, ref string) error {
	scheme, bucket, key, err := ParseRef(ref)
	if err != nil {
		return err
	}
	if scheme == SchemeFile {
		if err := os.Remove(key); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("objstore: delete %s: %w", MaskRef(ref), unwrapPath(err))
		}
		return nil
	}
	if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil && !isNotFound(err) {
		return wrapS3("delete", ref, key, err)
	}
	return nil
}
