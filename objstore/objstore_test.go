package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

var _ pipeline.Fetcher = (*objstore.Store)(nil)

func newS3(t *testing.T) *objstore.Store {
	t.Helper()
	srv := testenv.S3(t)
	st, err := objstore.New(t.Context(), objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true, Buckets: []string{"media", "no-such-bucket"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call finds the bucket
		if err := st.EnsureBucket(t.Context(), "media"); err != nil {
			t.Fatalf("EnsureBucket: %v", err)
		}
	}
	return st
}

func TestS3(t *testing.T) {
	st := newS3(t)
	data := bytes.Repeat([]byte("face"), 5000)
	ref := "s3://media/people/p1/face.jpg"
	if err := st.Put(t.Context(), ref, data, "image/jpeg"); err != nil {
		t.Fatal(err)
	}

	t.Run("fetch round trip", func(t *testing.T) {
		got, err := st.Fetch(t.Context(), ref, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("fetch: %v, %d bytes, want %d", err, len(got), len(data))
		}
	})
	t.Run("open streams", func(t *testing.T) {
		rc, err := st.Open(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("open: %v, content differs", err)
		}
	})
	t.Run("put replaces", func(t *testing.T) {
		r := "s3://media/replace.txt"
		for _, v := range []string{"one", "two"} {
			if err := st.Put(t.Context(), r, []byte(v), ""); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := st.Fetch(t.Context(), r, 10); err != nil || string(got) != "two" {
			t.Fatalf("got %q %v", got, err)
		}
	})
	t.Run("empty object", func(t *testing.T) {
		r := "s3://media/empty"
		if err := st.Put(t.Context(), r, nil, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Fetch(t.Context(), r, 1); err != nil || len(got) != 0 {
			t.Fatalf("got %q %v", got, err)
		}
	})

	for _, c := range []struct {
		name  string
		ref   string
		limit int64
		want  error
	}{
		{"over the limit", ref, int64(len(data) - 1), objstore.ErrTooLarge},
		{"missing key", "s3://media/missing.jpg", 1 << 20, objstore.ErrNotFound},
		{"missing bucket", "s3://no-such-bucket/x.jpg", 1 << 20, objstore.ErrNotFound},
		{"bad ref", "s3://media/", 1 << 20, objstore.ErrBadRef},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.Fetch(t.Context(), c.ref, c.limit)
			if !errors.Is(err, c.want) {
				t.Fatalf("Fetch(%s) = %v, want %v", c.ref, err, c.want)
			}
			if c.want == objstore.ErrNotFound {
				if _, err := st.Open(t.Context(), c.ref); !errors.Is(err, objstore.ErrNotFound) {
					t.Fatalf("Open(%s) = %v, want ErrNotFound", c.ref, err)
				}
			}
		})
	}
}

// When the store cannot be reached or answers with an error, the error
// names the reference masked and holds no form of the key (the SDK's own
// message carries the request URL with the key percent-encoded) and no
// credential; it stays an ordinary (retryable) error.
func TestS3ErrorsHideTheKey(t *testing.T) {
	srv := testenv.S3(t)
	const key = "people/王芳/p0032-face-broken.jpg"
	ref := "s3://media/" + key
	stores := map[string]objstore.Config{
		"unreachable": {Endpoint: "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
			AccessKey: "ak-test", SecretKey: "sk-secret-xyz"},
		"wrong secret (403)": {Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey,
			SecretKey: "sk-secret-xyz"},
		"unknown access key (versitygw: 404 XAdminUserNotFound)": {Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: "ak-test",
			SecretKey: "sk-secret-xyz"},
	}
	for name, cfg := range stores {
		t.Run(name, func(t *testing.T) {
			cfg.Buckets, cfg.PathStyle = []string{"media"}, true
			st, err := objstore.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			_, err = st.Fetch(ctx, ref, 10)
			if err == nil || errors.Is(err, objstore.ErrNotFound) || errors.Is(err, objstore.ErrTooLarge) ||
				errors.Is(err, objstore.ErrBadRef) {
				t.Fatalf("%v, want an ordinary (transient) error", err)
			}
			msg := err.Error()
			for _, leak := range []string{"王芳", "%E7%8E%8B", "p0032-face-broken", "p0032", "sk-secret-xyz", "people/"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q holds %q", msg, leak)
				}
			}
			if !strings.Contains(msg, objstore.MaskRef(ref)) {
				t.Errorf("error %q does not name the reference masked (%s)", msg, objstore.MaskRef(ref))
			}
			t.Logf("%s", msg)
		})
	}
}

func TestFileRefs(t *testing.T) {
	dir := t.TempDir()
	st, err := objstore.New(t.Context(), objstore.Config{MediaRoot: dir})
	if err != nil {
		t.Fatal(err)
	}
	ref := "file://" + filepath.Join(dir, "sub", "card.jpg")
	if err := st.Put(t.Context(), ref, []byte("card"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Fetch(t.Context(), ref, 4); err != nil || string(got) != "card" {
		t.Fatalf("fetch file: %q %v", got, err)
	}
	rc, err := st.Open(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "card" {
		t.Fatalf("open file: %q", got)
	}
	if _, err := st.Fetch(t.Context(), ref, 3); !errors.Is(err, objstore.ErrTooLarge) {
		t.Fatalf("file over limit: %v", err)
	}
	if _, err := st.Fetch(t.Context(), ref+".missing", 10); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := st.Fetch(t.Context(), "file://"+dir+"/no/such/dir/x", 10); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("missing dir: %v", err)
	}
	if _, err := st.Fetch(t.Context(), "file://"+dir, 10); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("directory: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "sub"))
	if len(entries) != 1 {
		t.Fatalf("put left temporary files: %v", entries)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk-secret"}
	c := config.ObjStore(func(k string) string { return env[k] })
	want := objstore.Config{Endpoint: objstore.DefaultEndpoint, Region: "us-east-1", AccessKey: "ak",
		SecretKey: "sk-secret", PathStyle: true}
	if c.String() != want.String() || c.SecretKey != want.SecretKey {
		t.Fatalf("got %+v", c)
	}
	if strings.Contains(c.String(), "sk-secret") || strings.Contains(c.String(), `"ak"`) {
		t.Fatalf("String() leaks credentials: %s", c)
	}
	env["IVSBATCH_S3_ENDPOINT"], env["AWS_REGION"] = "http://s3.example:9000", "cn-north-4"
	c = config.ObjStore(func(k string) string { return env[k] })
	if c.Endpoint != "http://s3.example:9000" || c.Region != "cn-north-4" {
		t.Fatalf("got %+v", c)
	}
	if _, err := objstore.New(t.Context(), objstore.Config{AccessKey: "only"}); err == nil {
		t.Fatal("New accepted an access key without a secret")
	}
}

// AWS_SECRET_ACCESS_KEY_FILE (a mounted secret): the key read from the file
// signs requests the store accepts; a wrong one is refused, a missing file is
// an error naming the variable.
func TestSecretKeyFile(t *testing.T) {
	srv := testenv.S3(t)
	file := filepath.Join(t.TempDir(), "aws_secret")
	env := map[string]string{"IVSBATCH_S3_ENDPOINT": srv.Endpoint, "AWS_ACCESS_KEY_ID": srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY_FILE": file}
	open := func() (*objstore.Store, error) {
		return objstore.New(t.Context(), config.ObjStore(func(k string) string { return env[k] }))
	}
	for _, secret := range []string{srv.SecretKey, "wrong-secret"} {
		if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		err = st.EnsureBucket(t.Context(), "media")
		if (secret == srv.SecretKey) != (err == nil) {
			t.Errorf("secret %q from the file: EnsureBucket err %v", secret, err)
		}
	}
	env["AWS_SECRET_ACCESS_KEY_FILE"] = file + ".missing"
	if _, err := open(); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY_FILE") {
		t.Fatalf("missing secret file: err %v, want one naming AWS_SECRET_ACCESS_KEY_FILE", err)
	}
}

func TestParseRef(t *testing.T) {
	for _, c := range []struct {
		ref                 string
		scheme, bucket, key string // empty scheme: want ErrBadRef
	}{
		{"s3://b/k.jpg", "s3", "b", "k.jpg"},
		{"s3://media/dir/k 1%.jpg", "s3", "media", "dir/k 1%.jpg"},
		{"s3://my.bucket-1/a/b/c?x#y", "s3", "my.bucket-1", "a/b/c?x#y"},
		{"file:///tmp/a.jpg", "file", "", "/tmp/a.jpg"},
		{"file:///a", "file", "", "/a"},
		{"s3://b/", "", "", ""},
		{"s3://b", "", "", ""},
		{"s3:///k", "", "", ""},
		{"s3://B/k", "", "", ""},
		{"s3://b/dir/", "", "", ""},
		{"s3://allowed/../secret/x.jpg", "", "", ""},
		{"s3://b/a/../x.jpg", "", "", ""},
		{"s3://b/./x.jpg", "", "", ""},
		{"s3://b/a//x.jpg", "", "", ""},
		{"s3://b//x.jpg", "", "", ""},
		{"s3://b/a/..", "", "", ""},
		{"s3://b/..", "", "", ""},
		{"s3://b/a/x\u202egpj.exe", "", "", ""},
		{"s3://b/a/\u009b2Jx.jpg", "", "", ""},
		{"s3://b/a/\xff.jpg", "", "", ""},
		{"s3://b/a..b/.x/x..jpg", "s3", "b", "a..b/.x/x..jpg"},
		{"s3://b/k\n", "", "", ""},
		{"S3://b/k", "", "", ""},
		{"file://host/tmp/a", "", "", ""},
		{"file://relative", "", "", ""},
		{"file:///tmp/../etc/passwd", "", "", ""},
		{"file:///tmp//a", "", "", ""},
		{"file:///tmp/dir/", "", "", ""},
		{"file:///", "", "", ""},
		{"/tmp/a.jpg", "", "", ""},
		{"tmp/a.jpg", "", "", ""},
		{"http://x/y", "", "", ""},
		{"https://b.s3.amazonaws.com/k", "", "", ""},
		{"", "", "", ""},
		{"s3:/b/k", "", "", ""},
	} {
		scheme, bucket, key, err := objstore.ParseRef(c.ref)
		if c.scheme == "" {
			if !errors.Is(err, objstore.ErrBadRef) {
				t.Errorf("ParseRef(%q) = %q %q %q %v, want ErrBadRef", c.ref, scheme, bucket, key, err)
			}
			continue
		}
		if err != nil || scheme != c.scheme || bucket != c.bucket || key != c.key {
			t.Errorf("ParseRef(%q) = %q %q %q %v, want %q %q %q", c.ref, scheme, bucket, key, err, c.scheme, c.bucket, c.key)
		}
	}
}
