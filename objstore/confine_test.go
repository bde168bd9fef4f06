package objstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/objstore"
)

func TestMediaRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	st, err := objstore.New(t.Context(), objstore.Config{MediaRoot: root, Buckets: []string{"media"}})
	if err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(root, "people", "王芳.jpg")
	secret := filepath.Join(outside, "110101199003077777.jpg")
	for _, p := range []string{inside, secret} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink inside the root that leads outside it.
	link := filepath.Join(root, "people", "link.jpg")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Fetch(t.Context(), "file://"+inside, 10); err != nil || string(got) != "jpeg" {
		t.Fatalf("inside the root: %q %v", got, err)
	}
	for _, c := range []struct{ name, ref string }{
		{"outside", "file://" + secret},
		{"etc shadow", "file:///etc/shadow"},
		{"symlink out", "file://" + link},
		{"bucket not allowed", "s3://other/people/王芳.jpg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.Fetch(t.Context(), c.ref, 10)
			if !errors.Is(err, objstore.ErrBadRef) {
				t.Fatalf("Fetch(%s) = %v, want ErrBadRef", c.ref, err)
			}
			for _, pii := range []string{"王芳", "110101199003077777", "shadow"} {
				if strings.Contains(err.Error(), pii) {
					t.Errorf("error %q repeats %q", err, pii)
				}
			}
		})
	}
	// At intake: the lexical check, and the symlink once it exists.
	if err := st.CheckRef("file://" + secret); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("CheckRef outside: %v", err)
	}
	if err := st.CheckRef("file://" + link); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("CheckRef symlink: %v", err)
	}
	if err := st.CheckRef("file://" + filepath.Join(root, "later.jpg")); err != nil {
		t.Errorf("CheckRef of a file not there yet: %v", err)
	}
	if err := st.CheckRef("s3://media/k.jpg"); err != nil {
		t.Errorf("CheckRef allowed bucket: %v", err)
	}

	t.Run("no root refuses file", func(t *testing.T) {
		st, err := objstore.New(t.Context(), objstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Fetch(t.Context(), "file://"+inside, 10); !errors.Is(err, objstore.ErrBadRef) ||
			!strings.Contains(err.Error(), objstore.EnvMediaRoot) {
			t.Fatalf("Fetch without a root: %v", err)
		}
		if err := st.CheckRef("s3://any/k.jpg"); err != nil {
			t.Fatalf("no allow-list: %v", err)
		}
	})
}

func TestMediaPolicyFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, value, want string }{
		{objstore.EnvMediaRoot, "relative/dir", `IVSBATCH_MEDIA_ROOT="relative/dir": want an absolute path`},
		{objstore.EnvMediaRoot, "/no/such/dir", `IVSBATCH_MEDIA_ROOT="/no/such/dir": want an absolute path`},
		{objstore.EnvMediaRoot, file, "want an absolute path to an existing directory"},
		{objstore.EnvBuckets, "media,Bad_Bucket", `IVSBATCH_S3_BUCKETS: bucket "Bad_Bucket"`},
	} {
		env := map[string]string{c.key: c.value}
		_, err := objstore.New(t.Context(), objstore.ConfigFromEnv(func(k string) string { return env[k] }))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v, want %q", c.key, c.value, err, c.want)
		}
	}
}

func TestMaskRef(t *testing.T) {
	for ref, want := range map[string]string{
		"s3://media/people/110101199003077777.jpg": "s3://media/…/11**************77.jpg",
		"file:///data/王芳.jpg":                      "file:///…/王*.jpg",
		"s3://media/v":                             "s3://media/…/v*",
	} {
		if got := objstore.MaskRef(ref); got != want {
			t.Errorf("MaskRef(%q) = %q, want %q", ref, got, want)
		}
	}
}
