package media

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// TestHEIF converts HEIC and AVIF files made by heif-enc (libheif-examples)
// from cjpeg JPEGs, upright or with EXIF orientation 6, and compares their
// colours with the upright reference. Without libheif (-tags purego or
// CGO_ENABLED=0) they are media.unsupported_format.
func TestHEIF(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "cjpeg", "heif-enc")
	cases := []struct {
		name string
		o    int
		avif bool
	}{
		{name: "heic", o: 1},
		{name: "heic EXIF 6", o: 6},
		{name: "avif", o: 1, avif: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := source(t, 1600, 1200, c.o)
			jpg := filepath.Join(dir, "in.jpg")
			if err := os.WriteFile(jpg, cjpeg(t, dir, c.o, "-quality", "92"), 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.heic")
			args := []string{"-q", "85", "-o", out, jpg}
			if c.avif {
				out = filepath.Join(dir, "out.avif")
				args = []string{"-A", "-q", "85", "-o", out, jpg}
			}
			run(t, "heif-enc", args...)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, kind := range []pipeline.MediaKind{pipeline.MediaFaceImage, pipeline.MediaIDCardImage} {
				got, err := New(Config{}).Prepare(context.Background(), kind, data)
				if decodeHEIF == nil {
					if ErrorCode(err) != CodeUnsupportedFormat {
						t.Fatalf("%s without libheif: got %v, want %s", kind, err, CodeUnsupportedFormat)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				img := checkImage(t, kind, got.Data)
				if b := img.Bounds(); b.Dx() < b.Dy() {
					t.Errorf("%s: output %v is not upright (landscape)", kind, b.Size())
				}
				if d := meanAbsDiff(t, dir, img, false); d > maxColourDiff {
					t.Errorf("%s: colours differ by %.1f, want ≤ %d (%s)", kind, d, maxColourDiff, got.Note)
				}
				t.Logf("%s: %s", kind, got.Note)
			}
		})
	}
	// A damaged file with a HEIF signature.
	_, err := New(Config{}).Prepare(context.Background(), pipeline.MediaFaceImage, append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 64)...))
	want := CodeCorruptImage
	if decodeHEIF == nil {
		want = CodeUnsupportedFormat
	}
	if ErrorCode(err) != want {
		t.Errorf("damaged heic: got %v, want %s", err, want)
	}
}
