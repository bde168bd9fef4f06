// Package objstore reads and writes the media and manifests that records
// reference: s3://bucket/key in an S3-compatible store (aws-sdk-go-v2,
// custom endpoint, path-style) and file:///abs/path for local runs.
//
// Credentials come only from the Config (see ConfigFromEnv) and are never
// logged or put in error messages.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Errors a caller can tell apart with errors.Is. A missing or too large
// object and a malformed reference are the input's fault; anything else
// (connection refused, 5xx, access denied) is an ordinary wrapped error,
// usually worth retrying.
var (
	ErrNotFound = errors.New("object not found")
	ErrTooLarge = errors.New("object larger than the limit")
	ErrBadRef   = errors.New("bad object reference")
)

// Config says where the S3-compatible store is.
type Config struct {
	Endpoint  string // e.g. http://127.0.0.1:7070; empty means AWS itself
	Region    string // default us-east-1
	AccessKey string // empty means unsigned (anonymous) requests
	SecretKey string
	// SecretKeyFile holds the secret key when SecretKey is empty
	// (AWS_SECRET_ACCESS_KEY_FILE: a mounted secret); New reads it.
	SecretKeyFile string
	// PathStyle puts the bucket in the path, as S3-compatible stores want.
	// It is always on when Endpoint is set (custom endpoints).
	PathStyle bool
	// MediaRoot is the directory file:// media references must lie under
	// (IVSBATCH_MEDIA_ROOT); empty refuses every file:// media reference.
	MediaRoot string
	// Buckets are the only S3 buckets media may come from
	// (IVSBATCH_S3_BUCKETS). Empty refuses every s3:// media reference;
	// exactly []string{AnyBucket} ("*") allows every bucket the
	// credentials reach, kept pictures excepted.
	Buckets []string
	// DenyPrefixes are locations (s3://bucket[/prefix] or file:///dir) that
	// are never a media source, whatever Buckets and MediaRoot allow: where
	// liveness pictures are kept (IVSBATCH_KEEP_PICTURES), so that a stored
	// face cannot be replayed as a fresh one. A file:// location must not
	// overlap MediaRoot.
	DenyPrefixes []string
}

// DefaultEndpoint is the local S3 store the scripts start.
const DefaultEndpoint = "http://127.0.0.1:7070"

// DefaultRegion is used when no region is configured.
const DefaultRegion = "us-east-1"

// String describes the config without its secret key.
func (c Config) String() string {
	return fmt.Sprintf("objstore.Config{Endpoint:%q Region:%q AccessKey set:%t PathStyle:%t MediaRoot:%q Buckets:%q DenyPrefixes:%q}",
		c.Endpoint, c.Region, c.AccessKey != "", c.PathStyle, c.MediaRoot, c.Buckets, c.DenyPrefixes)
}

// Store reads and writes object references. It is safe for concurrent use.
type Store struct {
	s3     *s3.Client
	policy policy
}

// New returns a Store for cfg. It does not contact the store. Checksums are
// only computed and validated when an operation requires them, because
// S3-compatible stores reject the SDK's newer default trailing checksums.
// Retries use the SDK's standard retryer. The media root must be an
// existing directory (it is opened here and stays open: file:// media are
// read through it), the buckets valid names or "*" alone, and the denied
// locations well-formed and outside the media root.
func New(ctx context.Context, cfg Config) (*Store, error) {
	_ = ctx // reserved: nothing is loaded from the network or shared config files
	if cfg.SecretKey == "" && cfg.SecretKeyFile != "" {
		b, err := os.ReadFile(cfg.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("objstore: AWS_SECRET_ACCESS_KEY_FILE: %w", err)
		}
		cfg.SecretKey = strings.TrimRight(string(b), "\r\n")
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return nil, errors.New("objstore: access key and secret key must be set together")
	}
	pol, err := newPolicy(cfg)
	if err != nil {
		return nil, err
	}
	opts := s3.Options{
		Region:                     cfg.Region,
		UsePathStyle:               cfg.PathStyle || cfg.Endpoint != "",
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.AccessKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	return &Store{s3: s3.New(opts), policy: pol}, nil
}
