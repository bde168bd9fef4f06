package media

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// scanStart is the offset of the first byte of entropy-coded data (after
// the first SOS segment) of a JPEG.
func scanStart(t *testing.T, jpg []byte) int {
	t.Helper()
	i := bytes.Index(jpg, []byte{0xFF, 0xDA})
	if i < 0 || i+4 > len(jpg) {
		t.Fatal("no SOS marker")
	}
	return i + 2 + int(jpg[i+2])<<8 + int(jpg[i+3])
}

// scanEnd is the offset of the marker that ends the first scan of a JPEG.
func scanEnd(t *testing.T, jpg []byte) int {
	t.Helper()
	for i := scanStart(t, jpg); i+1 < len(jpg); i++ {
		if jpg[i] == 0xFF && jpg[i+1] != 0 && (jpg[i+1] < 0xD0 || jpg[i+1] > 0xD7) {
			return i
		}
	}
	t.Fatal("first scan does not end")
	return 0
}

// TestDamagePolicy checks that every role treats a damaged JPEG the same
// way: pixel-damaging errors are media.corrupt_image whether the picture
// would pass through or be re-encoded, and harmless libjpeg warnings are
// tolerated.
func TestDamagePolicy(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "cjpeg")
	small := source(t, 800, 600, 1)   // passes through for both roles
	large := source(t, 2400, 1800, 1) // re-encoded for both roles
	smallJPEG := cjpeg(t, small, 1, "-quality", "75")
	largeJPEG := cjpeg(t, large, 1, "-quality", "90")
	progJPEG := cjpeg(t, small, 1, "-quality", "75", "-progressive")

	truncate := func(b []byte) []byte { return append([]byte{}, b[:len(b)*6/10]...) }
	// An RST marker in the middle of a scan that has no restart interval:
	// libjpeg warns "premature end of data segment" and the rest is grey.
	stray := func(b []byte) []byte {
		out := append([]byte{}, b...)
		mid := (scanStart(t, b) + scanEnd(t, b)) / 2
		copy(out[mid:], []byte{0xFF, 0xD3, 0x12, 0x34})
		return out
	}
	// Bytes between the last scan and EOI: libjpeg warns "extraneous bytes
	// before marker 0xd9" after every pixel is decoded.
	extraneous := func(b []byte) []byte {
		out := append([]byte{}, b[:len(b)-2]...)
		out = append(out, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55)
		return append(out, 0xFF, 0xD9)
	}

	dir := t.TempDir()
	tiff := ffmpegGen(t, dir, "x.tiff", "-i", filepath.Join(small, "src.ppm"), "-c:v", "tiff")
	anim := ffmpegGen(t, dir, "x.webp", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=5", "-t", "1",
		"-c:v", "libwebp_anim", "-loop", "0")
	still := ffmpegGen(t, dir, "s.webp", "-i", filepath.Join(small, "src.ppm"), "-c:v", "libwebp", "-quality", "80")
	png16 := ffmpegGen(t, dir, "big16.png", "-f", "lavfi", "-i", "color=c=0x336699:s=5000x4500", "-frames:v", "1", "-pix_fmt", "rgb48be")

	cases := []struct {
		name string
		data []byte
		code string // "" for accepted
		same bool   // accepted unchanged
		card bool   // accepted unchanged as an ID card (a face is re-encoded)
	}{
		{name: "intact small", data: smallJPEG, same: true},
		{name: "intact large", data: largeJPEG, card: true},
		{name: "small truncated", data: truncate(smallJPEG), code: CodeCorruptImage},
		{name: "large truncated", data: truncate(largeJPEG), code: CodeCorruptImage},
		{name: "small corrupt middle", data: stray(smallJPEG), code: CodeCorruptImage},
		{name: "large corrupt middle", data: stray(largeJPEG), code: CodeCorruptImage},
		{name: "progressive corrupt middle", data: stray(progJPEG), code: CodeCorruptImage},
		{name: "small extraneous bytes before EOI", data: extraneous(smallJPEG), same: true},
		{name: "large extraneous bytes before EOI", data: extraneous(largeJPEG), card: true},
		{name: "tiff (ffmpeg's, PackBits)", data: tiff},
		{name: "animated webp", data: anim, code: CodeUnsupportedFormat},
		{name: "still webp", data: still},
		{name: "16-bit png over the decode budget", data: png16, code: CodeCannotFit},
		{name: "pdf", data: []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"), code: CodeNotImage},
	}
	for _, c := range cases {
		for _, kind := range []pipeline.MediaKind{pipeline.MediaFaceImage, pipeline.MediaIDCardImage} {
			t.Run(c.name+"/"+string(kind), func(t *testing.T) {
				t.Parallel()
				got, err := New(Config{}).Prepare(context.Background(), kind, c.data)
				if c.code != "" {
					if ErrorCode(err) != c.code {
						t.Fatalf("got %v, want %s", err, c.code)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := c.same || (c.card && kind == pipeline.MediaIDCardImage)
				if same := bytes.Equal(got.Data, c.data); same != want {
					t.Errorf("passed through = %v, want %v (%s)", same, want, got.Note)
				}
				checkImage(t, kind, got.Data)
			})
		}
	}
}
