package objstore_test

import (
	"context"
	"errors"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
		if err := st.CheckRef("s3://any/k.jpg"); !errors.Is(err, objstore.ErrBadRef) ||
			!strings.Contains(err.Error(), objstore.EnvBuckets) {
			t.Fatalf("no allow-list: %v, want every bucket refused", err)
		}
	})
}

// The buckets media may come from are named: none refuses every s3://
// medium, "*" alone allows any, and the kept pictures' location is never a
// medium whatever the list says.
func TestBucketPolicy(t *testing.T) {
	for _, c := range []struct {
		name    string
		buckets []string
		ref     string
		ok      bool
	}{
		{"no list", nil, "s3://media/k.jpg", false},
		{"listed", []string{"media"}, "s3://media/k.jpg", true},
		{"not listed", []string{"media"}, "s3://other/k.jpg", false},
		{"any", []string{"*"}, "s3://other/k.jpg", true},
		{"kept picture, listed bucket", []string{"media"}, "s3://media/liveness/3f9a0c.jpg", false},
		{"kept picture, any bucket", []string{"*"}, "s3://pictures/7b1e.jpg", false},
		{"beside the kept pictures", []string{"media"}, "s3://media/liveness-old/a.jpg", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := objstore.New(t.Context(), objstore.Config{Buckets: c.buckets,
				DenyPrefixes: []string{"s3://media/liveness/", "s3://pictures"}})
			if err != nil {
				t.Fatal(err)
			}
			err = st.CheckRef(c.ref)
			if c.ok != (err == nil) || err != nil && !errors.Is(err, objstore.ErrBadRef) {
				t.Fatalf("CheckRef(%s) = %v, want ok %t", c.ref, err, c.ok)
			}
			// Fetch refuses before asking the store (there is none here: an
			// allowed ref fails to connect, a refused one is ErrBadRef).
			if !c.ok {
				if _, err := st.Fetch(t.Context(), c.ref, 10); !errors.Is(err, objstore.ErrBadRef) {
					t.Fatalf("Fetch(%s) = %v, want ErrBadRef", c.ref, err)
				}
			}
		})
	}
	for _, bad := range [][]string{{"*", "media"}, {"Media"}, {""}} {
		if _, err := objstore.New(t.Context(), objstore.Config{Buckets: bad}); err == nil {
			t.Errorf("Buckets %q accepted", bad)
		}
	}
}

// A kept-pictures directory must not overlap the media root (file:// media
// are opened inside the root only, so pictures outside it are never media).
func TestDenyPrefixOverlappingRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"file://" + root + "/pictures", "file://" + root, "file://" + filepath.Dir(root), "http://x/y", "s3://"} {
		if _, err := objstore.New(t.Context(), objstore.Config{MediaRoot: root, DenyPrefixes: []string{d}}); err == nil {
			t.Errorf("DenyPrefixes %q beside media root %s accepted", d, root)
		}
	}
	if _, err := objstore.New(t.Context(), objstore.Config{MediaRoot: root, DenyPrefixes: []string{"file://" + t.TempDir()}}); err != nil {
		t.Errorf("a pictures directory outside the root: %v", err)
	}
}

// file:// media are opened through the root: a file replaced by a symlink
// leading outside after intake checked it is not followed, and a file with
// a second hard link (possibly another person's file elsewhere) is refused.
func TestMediaRootOpensThroughRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	st, err := objstore.New(t.Context(), objstore.Config{MediaRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "victim.jpg")
	write(t, secret, "victim's face")
	media := filepath.Join(root, "p1.jpg")
	write(t, media, "own face")
	ref := "file://" + media

	t.Run("symlink swapped in after the check", func(t *testing.T) {
		if err := st.CheckRef(ref); err != nil {
			t.Fatalf("intake check of a plain file: %v", err)
		}
		swap(t, media, secret) // after the check, before the fetch
		got, err := st.Fetch(t.Context(), ref, 100)
		if !errors.Is(err, objstore.ErrBadRef) || len(got) > 0 {
			t.Fatalf("Fetch after the swap = %q, %v; want ErrBadRef and nothing read", got, err)
		}
		restore(t, media)
	})
	t.Run("swapped back and forth while fetching", func(t *testing.T) {
		// Old code checked the resolved path, then opened the path again:
		// a swap between the two read the victim's file.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%2 == 0 {
					swap(t, media, secret)
					continue
				}
				tmp := media + ".tmp"
				if err := os.WriteFile(tmp, []byte("own face"), 0o644); err != nil {
					t.Error(err)
					return
				}
				if err := os.Rename(tmp, media); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		own, refused := 0, 0
		for range 3000 {
			got, err := st.Fetch(t.Context(), ref, 100)
			switch {
			case err == nil && string(got) == "own face":
				own++
			case errors.Is(err, objstore.ErrBadRef) || errors.Is(err, objstore.ErrNotFound):
				refused++
			case err == nil:
				t.Fatalf("read %q through a swapped-in symlink", got)
			default:
				t.Fatalf("Fetch: %v", err)
			}
		}
		close(stop)
		<-done
		if own == 0 || refused == 0 {
			t.Fatalf("%d reads of the file, %d refusals: the swap did not race the fetch", own, refused)
		}
		restore(t, media)
	})
	t.Run("symlink inside the root", func(t *testing.T) {
		link := filepath.Join(root, "alias.jpg")
		if err := os.Symlink("p1.jpg", link); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Fetch(t.Context(), "file://"+link, 100); err != nil || string(got) != "own face" {
			t.Fatalf("a symlink to a file inside the root: %q %v", got, err)
		}
	})
	t.Run("hard link", func(t *testing.T) {
		for name, target := range map[string]string{"to outside": secret, "inside": media} {
			link := filepath.Join(root, "hl-"+strings.ReplaceAll(name, " ", "-")+".jpg")
			if err := os.Link(target, link); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Fetch(t.Context(), "file://"+link, 100); !errors.Is(err, objstore.ErrBadRef) ||
				!strings.Contains(err.Error(), "hard links") {
				t.Errorf("Fetch of a hard link %s: %v, want ErrBadRef", name, err)
			}
			if err := st.CheckRef("file://" + link); !errors.Is(err, objstore.ErrBadRef) {
				t.Errorf("CheckRef of a hard link %s: %v, want ErrBadRef", name, err)
			}
			os.Remove(link)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(root, "fifo.jpg")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := st.Fetch(ctx, "file://"+fifo, 100); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("Fetch of a FIFO: %v, want ErrNotFound (not a regular file), without blocking", err)
		}
	})
}

// restore makes path a plain file again (writing through a symlink would
// change its target).
func restore(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, path, "own face")
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// swap atomically replaces path by a symlink to target.
func swap(t *testing.T, path, target string) {
	tmp := path + ".link"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
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
		{objstore.EnvBuckets, "*,media", `IVSBATCH_S3_BUCKETS: bucket "*"`},
	} {
		env := map[string]string{c.key: c.value}
		_, err := objstore.New(t.Context(), config.ObjStore(func(k string) string { return env[k] }))
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
		"s3://王芳-110101199003077777/x.jpg":         "s3://…/…/x*.jpg",
	} {
		if got := objstore.MaskRef(ref); got != want {
			t.Errorf("MaskRef(%q) = %q, want %q", ref, got, want)
		}
	}
}
