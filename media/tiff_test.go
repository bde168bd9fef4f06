package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// tiffOf converts dir/src.ppm (see source) to an RGB TIFF with ffmpeg's
// encoder, then rewrites it with libtiff's tiffcp using opts (compression,
// strips or tiles, more pages), and returns the bytes tiffcp wrote.
func tiffOf(t *testing.T, dir string, opts []string, morePages ...string) []byte {
	t.Helper()
	first := filepath.Join(dir, "first.tif")
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-i", filepath.Join(dir, "src.ppm"), "-pix_fmt", "rgb24",
		"-c:v", "tiff", "-compression_algo", "lzw", "-y", first)
	out := filepath.Join(dir, "out.tif")
	run(t, "tiffcp", append(append(append(opts, first), morePages...), out)...)
	return readFile(t, out)
}

// tiffInfo is libtiff's tiffinfo report of path.
func tiffInfo(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check.tif")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tiffinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	return string(out)
}

// TIFFs as scanners and back offices write them (LZW, several pages,
// strips or tiles, an Orientation tag) are converted like PNGs, from their
// first page; what golang.org/x/image/tiff cannot read is
// media.unsupported_format, and one whose decoding would need more than
// the decode budget (counting the decompressed strip) is refused from its
// header.
func TestTIFF(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "tiffcp", "tiffinfo", "tiffset")
	blueDir := t.TempDir()
	blue := filepath.Join(blueDir, "blue.tif")
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=blue:size=1200x900", "-frames:v", "1",
		"-pix_fmt", "rgb24", "-c:v", "tiff", "-compression_algo", "lzw", "-y", blue)
	lzw := []string{"-c", "lzw"}
	cases := []struct {
		name  string
		kind  pipeline.MediaKind
		w, h  int // upright size
		o     int // Orientation tag
		opts  []string
		pages []string
		info  []string // what tiffinfo must report (the input is what the case says)
		code  string
		msg   string // in the rejection's message
	}{
		{name: "two-page LZW card: first page", kind: pipeline.MediaIDCardImage, w: 1200, h: 900, opts: lzw,
			pages: []string{blue}, info: []string{"Compression Scheme: LZW", "TIFF Directory at offset"}},
		{name: "LZW face in 16-row strips", kind: pipeline.MediaFaceImage, w: 1600, h: 1200, opts: append(lzw, "-r", "16"),
			info: []string{"Rows/Strip: 16"}},
		{name: "tiled deflate card", kind: pipeline.MediaIDCardImage, w: 2000, h: 1500,
			opts: []string{"-c", "zip", "-t", "-w", "256", "-l", "256"}, info: []string{"Tile Width: 256"}},
		{name: "card scanned sideways with Orientation 6", kind: pipeline.MediaIDCardImage, w: 1200, h: 900, o: 6, opts: lzw},
		{name: "JPEG-compressed", kind: pipeline.MediaFaceImage, w: 800, h: 600, opts: []string{"-c", "jpeg"},
			info: []string{"Compression Scheme: JPEG"}, code: CodeUnsupportedFormat},
		// 4000×3600: the picture (RGBA, 58 MB) fits the budget, but written
		// as one strip the decoder may also hold 115 MB of it decompressed.
		{name: "one 4000×3600 strip over the budget", kind: pipeline.MediaIDCardImage, w: 4000, h: 3600,
			opts: append(lzw, "-r", "3600"), info: []string{"Rows/Strip: 3600"}, code: CodeCannotFit, msg: "in 4000×3600 blocks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := source(t, c.w, c.h, c.o)
			in := tiffOf(t, dir, c.opts, c.pages...)
			if c.o > 1 {
				path := filepath.Join(dir, "oriented.tif")
				if err := os.WriteFile(path, in, 0o600); err != nil {
					t.Fatal(err)
				}
				run(t, "tiffset", "-s", "274", "6", path)
				in = readFile(t, path)
				c.info = append(c.info, "Orientation: row 0 rhs, col 0 top")
			}
			info := tiffInfo(t, in)
			for _, want := range c.info {
				if !strings.Contains(info, want) {
					t.Fatalf("the input is not what the case says (%q missing):\n%s", want, info)
				}
			}
			if len(c.pages) > 0 && strings.Count(info, "TIFF Directory") != 1+len(c.pages) {
				t.Fatalf("want %d pages:\n%s", 1+len(c.pages), info)
			}
			got, err := New(Config{}).Prepare(context.Background(), c.kind, in)
			if c.code != "" {
				if ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("got %v, want %s (%q)", err, c.code, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got.Note, "converted tiff to jpeg") {
				t.Errorf("note %q", got.Note)
			}
			img := checkImage(t, c.kind, got.Data)
			if b := img.Bounds(); b.Dx()*c.h/c.w-b.Dy() > 2 || b.Dy()-b.Dx()*c.h/c.w > 2 {
				t.Errorf("output %v is not upright %d×%d", b.Size(), c.w, c.h)
			}
			// The first page's picture, not the blue second page.
			if d := meanAbsDiff(t, dir, img, false); d > maxColourDiff {
				t.Errorf("colours differ from the first page by %.1f of 255 on average, want ≤ %d (%s)", d, maxColourDiff, got.Note)
			}
		})
	}
}
