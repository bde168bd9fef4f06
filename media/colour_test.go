package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// requireTools fails (never skips) the test when an executable is missing;
// scripts/deps.sh installs them.
func requireTools(t testing.TB, exes ...string) {
	t.Helper()
	for _, exe := range exes {
		if _, err := exec.LookPath(exe); err != nil {
			t.Fatalf("%s is required by these tests (scripts/deps.sh installs it): %v", exe, err)
		}
	}
}

// run runs a command and fails the test with its output if it fails.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// source writes an upright w×h colour picture made by ffmpeg (smooth
// gradients plus a little grain, like a photo, the same every run) as
// dir/up.ppm, and the same picture in stored orientation for EXIF
// orientation o (1 or 6) as dir/src.ppm for cjpeg. It returns dir.
func source(t testing.TB, w, h, o int) string {
	t.Helper()
	dir := t.TempDir()
	f := fmt.Sprintf("gradients=s=%dx%d:n=5:c0=0xd04030:c1=0xf0d060:c2=0x3070c0:c3=0x40a050:c4=0xa040a0:"+
		"x0=0:y0=0:x1=%d:y1=%d:seed=1,format=rgb24,noise=alls=4:allf=u:all_seed=5", w, h, w, h*2/3)
	up := filepath.Join(dir, "up.ppm")
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f, "-frames:v", "1", "-y", up)
	src := filepath.Join(dir, "src.ppm")
	if o == 6 { // stored turned 90° counter-clockwise; EXIF 6 turns it back
		run(t, "ffmpeg", "-nostdin", "-v", "error", "-i", up, "-vf", "transpose=2", "-y", src)
	} else if err := os.Link(up, src); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cjpeg encodes dir/src.ppm with libjpeg's cjpeg and the given options and
// adds an EXIF orientation o when o > 1.
func cjpeg(t testing.TB, dir string, o int, opts ...string) []byte {
	t.Helper()
	out := filepath.Join(dir, "out.jpg")
	run(t, "cjpeg", append(opts, "-outfile", out, filepath.Join(dir, "src.ppm"))...)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if o > 1 {
		data = withOrientation(data, o, false)
	}
	return data
}

// meanAbsDiff is the mean absolute difference, over R, G and B of every
// pixel, between got and the upright picture dir/up.ppm scaled by ffmpeg
// (area averaging) to got's size (its luma only when grey is set).
func meanAbsDiff(t testing.TB, dir string, got image.Image, grey bool) float64 {
	t.Helper()
	b := got.Bounds()
	path := filepath.Join(t.TempDir(), "ref.png")
	f := fmt.Sprintf("scale=%d:%d:flags=area,format=rgb24", b.Dx(), b.Dy())
	if grey {
		f += ",format=gray"
	}
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-i", filepath.Join(dir, "up.ppm"), "-vf", f, "-y", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var sum, n float64
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r1, g1, b1, _ := got.At(b.Min.X+x, b.Min.Y+y).RGBA()
			r2, g2, b2, _ := ref.At(x, y).RGBA()
			for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				sum += math.Abs(float64(d[0]>>8) - float64(d[1]>>8))
			}
			n += 3
		}
	}
	return sum / n
}

// maxColourDiff is the largest mean absolute difference (of 255) accepted
// between a prepared image and its reference. Right decodes measure 0.4–1.2;
// the fast-DCT 1/2-scale and RGB-as-YCbCr faults measured 24–43.
const maxColourDiff = 4

func TestColours(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "cjpeg")
	face, card := pipeline.MediaFaceImage, pipeline.MediaIDCardImage
	q90 := []string{"-quality", "90"}
	with := func(extra ...string) []string { return append(append([]string{}, q90...), extra...) }
	cases := []struct {
		name string
		kind pipeline.MediaKind
		w, h int // upright size
		o    int // EXIF orientation
		opts []string
		pass bool // passed through unchanged
		grey bool // compared with the reference's luma
		// arith: arithmetic coding, which image/jpeg (the pure-Go build)
		// reports as media.unsupported_format.
		arith bool
		// oddSampling: sampling factors image/jpeg does not implement
		// (media.unsupported_format in the pure-Go build); libjpeg-turbo's
		// header call cannot classify them but libjpeg decodes them.
		oddSampling bool
	}{
		// One face per libjpeg-turbo scale 8/8 … 1/8 (target long side 1024).
		{name: "face scale 8/8", kind: face, w: 1100, h: 825, o: 6, opts: with("-sample", "2x2")},
		{name: "face scale 7/8", kind: face, w: 1200, h: 900, o: 6, opts: with("-sample", "2x2")},
		{name: "face scale 6/8", kind: face, w: 1500, h: 1125, opts: with("-sample", "2x2")},
		{name: "face scale 5/8", kind: face, w: 1800, h: 1350, opts: with("-sample", "2x2")},
		{name: "face scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-sample", "2x2")},
		{name: "face scale 3/8", kind: face, w: 3200, h: 2400, opts: with("-sample", "2x2")},
		{name: "face scale 2/8", kind: face, w: 4200, h: 1400, opts: with("-sample", "2x2")},
		{name: "face scale 1/8", kind: face, w: 8400, h: 2400, opts: with("-sample", "2x2")},
		// The phone photo turned into a card: 1/2 scale, EXIF 6.
		{name: "card 12 MP EXIF 6 scale 4/8", kind: card, w: 4032, h: 3024, o: 6, opts: with("-sample", "2x2")},
		// Unusual codings, at the scales most used.
		{name: "face 4:2:2 (2x1) scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-sample", "2x1")},
		{name: "face 4:4:0 (1x2) scale 3/8", kind: face, w: 3200, h: 2400, opts: with("-sample", "1x2")},
		{name: "face 4:4:0 (1x2) EXIF 6 scale 4/8", kind: face, w: 2400, h: 1800, o: 6, opts: with("-sample", "1x2")},
		{name: "face 4:4:4 scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-sample", "1x1")},
		{name: "face RGB-coded scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-rgb")},
		{name: "face RGB-coded EXIF 6 scale 3/8", kind: face, w: 3200, h: 2400, o: 6, opts: with("-rgb")},
		{name: "card RGB-coded not passed through", kind: card, w: 800, h: 600, opts: with("-rgb")},
		{name: "face progressive scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-progressive")},
		{name: "face arithmetic-coded scale 3/8", kind: face, w: 3200, h: 2400, opts: with("-arithmetic"), arith: true},
		{name: "face grayscale scale 5/8", kind: face, w: 1800, h: 1350, opts: with("-grayscale"), grey: true},
		// Sampling factors libjpeg-turbo's tjDecompressHeader3 cannot
		// classify (2.1 calls them an error): decoded, and re-encoded even
		// when small enough to pass through.
		{name: "face 4:1:0 (4x2) scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-sample", "4x2,1x1,1x1")},
		{name: "face 1x2,2x1,1x1 scale 4/8", kind: face, w: 2400, h: 1800, opts: with("-sample", "1x2,2x1,1x1"), oddSampling: true},
		{name: "card 3x1 luma EXIF 6", kind: card, w: 1600, h: 1200, o: 6, opts: with("-sample", "3x1,1x1,1x1"), oddSampling: true},
		{name: "card 2x1,1x2,1x1 small is re-encoded", kind: card, w: 800, h: 600, opts: with("-sample", "2x1,1x2,1x1"), oddSampling: true},
		{name: "card 4:1:1 (4x1) passes through", kind: card, w: 2400, h: 1800, opts: with("-sample", "4x1"), pass: true},
		{name: "card 4:2:2 passes through", kind: card, w: 800, h: 600, opts: with("-sample", "2x1"), pass: true},
		{name: "face 4:4:0 passes through", kind: face, w: 640, h: 480, opts: []string{"-quality", "80", "-sample", "1x2"}, pass: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := source(t, c.w, c.h, c.o)
			in := cjpeg(t, dir, c.o, c.opts...)
			got, err := New(Config{}).Prepare(context.Background(), c.kind, in)
			if (c.arith || c.oddSampling) && fastDecode == nil {
				if ErrorCode(err) != CodeUnsupportedFormat {
					t.Fatalf("pure Go: got %v, want %s", err, CodeUnsupportedFormat)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if passed := bytes.Equal(got.Data, in); passed != c.pass {
				t.Errorf("passed through = %v, want %v (%s)", passed, c.pass, got.Note)
			}
			img := checkImage(t, c.kind, got.Data)
			if b := img.Bounds(); b.Dx()*c.h/c.w-b.Dy() > 2 || b.Dy()-b.Dx()*c.h/c.w > 2 {
				t.Errorf("output %v is not upright %d×%d", b.Size(), c.w, c.h)
			}
			if _, err := jpeg.Decode(bytes.NewReader(got.Data)); err != nil {
				t.Fatal(err)
			}
			d := meanAbsDiff(t, dir, img, c.grey)
			if d > maxColourDiff {
				t.Errorf("colours differ from the reference by %.1f of 255 on average, want ≤ %d (%s)", d, maxColourDiff, got.Note)
			}
			t.Logf("mean abs diff %.2f; %s", d, got.Note)
		})
	}
}
