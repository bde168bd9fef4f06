package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// requireFFmpeg fails (never skips) the test when ffmpeg or ffprobe is missing.
func requireFFmpeg(t testing.TB) {
	t.Helper()
	for _, exe := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(exe); err != nil {
			t.Fatalf("%s is required by these tests: %v", exe, err)
		}
	}
}

// photo returns a w×h 4:2:0 YCbCr picture with gradients and noise of the
// given amplitude, so JPEG sizes resemble camera output.
func photo(w, h, noise int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	seed := uint32(12345)
	for y := 0; y < h; y++ {
		row := m.Y[y*m.YStride:]
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			v := 40 + (x*160)/w + (y*40)/h
			if noise > 0 {
				v += int(seed>>24)%(2*noise+1) - noise
			}
			row[x] = uint8(max(0, min(255, v)))
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			m.Cb[y*m.CStride+x] = uint8(100 + (x*50)/cw)
			m.Cr[y*m.CStride+x] = uint8(110 + (y*40)/ch)
		}
	}
	return m
}

// encJPEG encodes img with Go's encoder at quality q.
func encJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withOrientation inserts a hand-built EXIF APP1 segment holding
// orientation o right after the SOI marker.
func withOrientation(jpg []byte, o int, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	tiff := []byte("II*\x00")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM\x00*")
	}
	tiff = bo.AppendUint32(tiff, 8)         // IFD0 offset
	tiff = bo.AppendUint16(tiff, 1)         // one entry
	tiff = bo.AppendUint16(tiff, 0x0112)    // Orientation
	tiff = bo.AppendUint16(tiff, 3)         // SHORT
	tiff = bo.AppendUint32(tiff, 1)         // count
	tiff = bo.AppendUint16(tiff, uint16(o)) // value
	tiff = bo.AppendUint16(tiff, 0)         // padding
	tiff = bo.AppendUint32(tiff, 0)         // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{0xFF, 0xD8}, seg...)
	return append(out, jpg[2:]...)
}

// checkImage asserts that out meets every IVS image limit for kind and
// returns its decoded picture.
func checkImage(t *testing.T, kind pipeline.MediaKind, out []byte) image.Image {
	t.Helper()
	info, ok := scanJPEG(out)
	if !ok {
		t.Fatalf("output is not a JPEG")
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if info.orientation > 1 {
		t.Errorf("output carries EXIF orientation %d", info.orientation)
	}
	if w < MinSide || h < MinSide || w > MaxSide || h > MaxSide {
		t.Errorf("output is %d×%d, outside %d–%d", w, h, MinSide, MaxSide)
	}
	n := base64.StdEncoding.EncodedLen(len(out))
	if n < MinBase64 || n > MaxBase64 {
		t.Errorf("output base64 is %d, outside %d–%d", n, MinBase64, MaxBase64)
	}
	if kind == pipeline.MediaFaceImage && n > faceSpec.maxBase64 {
		t.Errorf("face base64 is %d, over the %d target", n, faceSpec.maxBase64)
	}
	if kind == pipeline.MediaIDCardImage && w < h {
		t.Errorf("ID card output is portrait %d×%d", w, h)
	}
	return img
}

// isRed reports whether c is clearly red.
func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 180 && g>>8 < 80 && b>>8 < 80
}

// isBlue reports whether c is clearly blue.
func isBlue(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return b>>8 > 180 && r>>8 < 80 && g>>8 < 80
}

// ffmpegGen runs ffmpeg with args (output path last, inside dir) and
// returns the file's bytes.
func ffmpegGen(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(dir, name)
	full := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	full = append(full, out)
	if b, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// probed is what checkVideo learns about a prepared video.
type probed struct {
	probeInfo
	container string
	comment   string
}

// checkVideo asserts that data meets every IVS video limit.
func checkVideo(t *testing.T, data []byte) probed {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, inputName)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, ok := tool.Sniff(data)
	if !ok {
		t.Fatalf("output is not a video container")
	}
	p := New(Config{})
	info, err := p.probe(context.Background(), dir, c)
	if err != nil {
		t.Fatalf("probe output: %v", err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var tags struct {
		Format struct {
			Tags map[string]string `json:"tags"`
		} `json:"format"`
	}
	_ = json.Unmarshal(out, &tags)
	res := probed{probeInfo: info, container: containerName(info, data), comment: tags.Format.Tags["comment"]}
	if !acceptedContainers[res.container] {
		t.Errorf("container %q not accepted", res.container)
	}
	if !acceptedCodecs[info.codec] {
		t.Errorf("codec %q not accepted", info.codec)
	}
	if info.duration < MinVideoSeconds || info.duration > MaxVideoSeconds+0.05 {
		t.Errorf("duration %.3f s outside 1–15 s", info.duration)
	}
	if info.fps < MinVideoFPS-0.01 || info.fps > MaxVideoFPS+0.01 {
		t.Errorf("fps %.2f outside 10–30", info.fps)
	}
	if len(data) > MaxVideoBytes || b64len(len(data)) > MaxVideoBase64 || b64len(len(data)) < MinVideoBase64 {
		t.Errorf("size %d bytes outside limits", len(data))
	}
	if err := p.decodeCheck(context.Background(), dir, c); err != nil {
		t.Errorf("output does not decode cleanly: %v", err)
	}
	return res
}

// itoa is strconv.Itoa, for building ffmpeg arguments.
func itoa(n int) string { return strconv.Itoa(n) }
