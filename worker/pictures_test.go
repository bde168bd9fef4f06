package worker_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Kept pictures are named by a keyed hash: 128 bits nobody without the key
// can derive from the record id, the same for a retried save, different for
// another generation or another key; and the location is never media.
func TestPictureNames(t *testing.T) {
	srv := testenv.S3(t)
	prefix := "s3://media/liveness"
	objs, err := objstore.New(t.Context(), objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Buckets: []string{"media"}, DenyPrefixes: []string{prefix}})
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.EnsureBucket(t.Context(), "media"); err != nil {
		t.Fatal(err)
	}
	keys := testenv.Keyring(t)
	b := worker.PictureBucket{Store: objs, Prefix: prefix, Names: keys, Seal: keys}
	save := func(b worker.PictureBucket, id int64, gen int) string {
		t.Helper()
		ref, err := b.SavePicture(t.Context(), pipeline.TaskRef{RecordID: id, Generation: gen}, []byte{0xFF, 0xD8, 0xFF})
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	first := save(b, 42, 1)
	if !regexp.MustCompile(`^s3://media/liveness/[0-9a-f]{32}\.jpg\.sealed$`).MatchString(first) {
		t.Fatalf("picture kept at %s, want 128 random-looking bits under the prefix", first)
	}
	if strings.Contains(first, pipeline.TaskRef{RecordID: 42, Generation: 1}.UUID()) {
		t.Errorf("picture name %s carries the record's uuid", first)
	}
	if again := save(b, 42, 1); again != first {
		t.Errorf("a retried save went to %s, not %s", again, first)
	}
	other := map[string]string{"next generation": save(b, 42, 2), "next record": save(b, 43, 1),
		"another key": save(worker.PictureBucket{Store: objs, Prefix: prefix, Names: testenv.Keyring(t), Seal: keys}, 42, 1)}
	for what, ref := range other {
		if ref == first {
			t.Errorf("%s: same name %s", what, ref)
		}
	}
	// The picture is stored sealed, opens with the record's id only, and is
	// refused as a media source.
	rc, err := objs.Open(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || bytes.Contains(stored, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("stored picture %x (%v): want it sealed", stored, err)
	}
	if plain, err := keys.OpenBytes(stored, 42); err != nil || !bytes.Equal(plain, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("open the kept picture: %x %v", plain, err)
	}
	if _, err := keys.OpenBytes(stored, 43); err == nil {
		t.Error("the picture opened as another record's")
	}
	if _, err := objs.Fetch(t.Context(), first, 10); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("Fetch of a kept picture as media: %v, want ErrBadRef", err)
	}
	if err := objs.CheckRef(first); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("CheckRef of a kept picture: %v, want ErrBadRef", err)
	}
	if _, err := (worker.PictureBucket{Store: objs, Prefix: prefix, Seal: keys}).SavePicture(t.Context(), pipeline.TaskRef{RecordID: 1}, nil); err == nil {
		t.Error("a picture saved without a naming key")
	}
	if _, err := (worker.PictureBucket{Store: objs, Prefix: prefix, Names: keys}).SavePicture(t.Context(), pipeline.TaskRef{RecordID: 1}, nil); err == nil {
		t.Error("a picture saved without a key to seal it")
	}
	// On disk (file://) a kept picture is readable by its owner only, and
	// deleting it twice is fine.
	dir := t.TempDir()
	fb := worker.PictureBucket{Store: objs, Prefix: "file://" + dir + "/kept", Names: keys, Seal: keys}
	ref, err := fb.SavePicture(t.Context(), pipeline.TaskRef{RecordID: 7, Generation: 1}, []byte{0xFF, 0xD8, 0xFF})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(strings.TrimPrefix(ref, "file://"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept picture file: %v %v; want 0600", fi.Mode(), err)
	}
	if di, err := os.Stat(dir + "/kept"); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("kept pictures' directory: %v %v; want 0700", di.Mode(), err)
	}
	for range 2 {
		if err := fb.DeletePicture(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
	}
	if err := fb.DeletePicture(t.Context(), "file://"+dir+"/elsewhere.jpg"); err == nil {
		t.Error("deleted a file outside the pictures' prefix")
	}
}
