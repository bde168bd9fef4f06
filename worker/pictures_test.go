package worker_test

import (
	"errors"
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
	b := worker.PictureBucket{Store: objs, Prefix: prefix, Names: testenv.Keyring(t)}
	save := func(b worker.PictureBucket, id int64, gen int) string {
		t.Helper()
		ref, err := b.SavePicture(t.Context(), pipeline.TaskRef{RecordID: id, Generation: gen}, []byte{0xFF, 0xD8, 0xFF})
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	first := save(b, 42, 1)
	if !regexp.MustCompile(`^s3://media/liveness/[0-9a-f]{32}\.jpg$`).MatchString(first) {
		t.Fatalf("picture kept at %s, want 128 random-looking bits under the prefix", first)
	}
	if strings.Contains(first, pipeline.TaskRef{RecordID: 42, Generation: 1}.UUID()) {
		t.Errorf("picture name %s carries the record's uuid", first)
	}
	if again := save(b, 42, 1); again != first {
		t.Errorf("a retried save went to %s, not %s", again, first)
	}
	other := map[string]string{"next generation": save(b, 42, 2), "next record": save(b, 43, 1),
		"another key": save(worker.PictureBucket{Store: objs, Prefix: prefix, Names: testenv.Keyring(t)}, 42, 1)}
	for what, ref := range other {
		if ref == first {
			t.Errorf("%s: same name %s", what, ref)
		}
	}
	// The picture is stored, and refused as a media source.
	rc, err := objs.Open(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := objs.Fetch(t.Context(), first, 10); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("Fetch of a kept picture as media: %v, want ErrBadRef", err)
	}
	if err := objs.CheckRef(first); !errors.Is(err, objstore.ErrBadRef) {
		t.Errorf("CheckRef of a kept picture: %v, want ErrBadRef", err)
	}
	if _, err := (worker.PictureBucket{Store: objs, Prefix: prefix}).SavePicture(t.Context(), pipeline.TaskRef{RecordID: 1}, nil); err == nil {
		t.Error("a picture saved without a naming key")
	}
}
