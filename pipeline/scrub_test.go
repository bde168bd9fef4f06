package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

func TestRecordScrub(t *testing.T) {
	r := &pipeline.Record{Input: pipeline.Input{Shape: ivs.ShapeNameFaceImage, Name: "王芳", IDNumber: "110101199003077777",
		FaceImage: "s3://media/people/p0032-face-broken.jpg", Video: "file:///data/王芳/clip.mp4"}}
	for _, tc := range []struct{ in, want string }{
		{`Get "http://s3:7070/media/people/p0032-face-broken.jpg?x-id=GetObject": refused`, `Get "http://s3:7070/<face_image>?x-id=GetObject": refused`},
		{"open /data/%E7%8E%8B%E8%8A%B3/clip.mp4: denied", "open <video>: denied"},
		{"name 王芳 with id 110101199003077777", "name <name> with id <id_number>"},
		{"fetch s3://media/people/p0032-face-broken.jpg: timeout", "fetch <face_image>: timeout"},
		{"p0032-face-broken is not a JPEG", "<face_image> is not a JPEG"},
		{"no face found in the image", "no face found in the image"},
		{"王芳 in clip.mp4", "<name> in <video>"},
		{"", ""},
	} {
		if got := r.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the fetcher said, the stored message holds no key, name or id
// number: the processor scrubs every message it stores.
func TestStoredMessagesScrubbed(t *testing.T) {
	w := newWorld(t, []answer{{code: 1000}}, nil)
	w.fetcher.err = errors.New(`operation error S3: GetObject, Get "http://127.0.0.1:1/m/face.jpg": refused (张伟, 11010119900307803X)`)
	if _, ok := pipeline.AsRetryLater(w.process(1)); !ok {
		t.Fatal("want a retry after infrastructure trouble")
	}
	r := w.store.get(1)
	for _, leak := range []string{"face.jpg", "张伟", "11010119900307803X"} {
		if strings.Contains(r.LastErrorMessage, leak) {
			t.Errorf("stored message %q holds %q", r.LastErrorMessage, leak)
		}
	}
	if !strings.Contains(r.LastErrorMessage, "<face_image>") {
		t.Errorf("stored message %q does not say which field it was about", r.LastErrorMessage)
	}
}
