package media

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

func TestOrientations(t *testing.T) {
	t.Parallel()
	// 640×400 stored, a red block in the stored top-left corner.
	const w, h = 640, 400
	base := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(base, base.Bounds(), photo(w, h, 6), image.Point{}, draw.Src)
	draw.Draw(base, image.Rect(0, 0, 80, 80), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	plain := encJPEG(t, base, 80)
	// Where the stored top-left corner must appear: 0 TL, 1 TR, 2 BR, 3 BL.
	corner := map[int]int{1: 0, 2: 1, 3: 2, 4: 3, 5: 0, 6: 1, 7: 2, 8: 3}
	for o := 1; o <= 8; o++ {
		for _, kind := range []pipeline.MediaKind{pipeline.MediaFaceImage, pipeline.MediaIDCardImage} {
			t.Run(kind2(kind)+"/"+itoa(o), func(t *testing.T) {
				in := withOrientation(plain, o, o%2 == 0)
				got, err := New(Config{}).Prepare(context.Background(), kind, in)
				if kind == pipeline.MediaIDCardImage && o >= 5 {
					if ErrorCode(err) != CodeCardPortrait {
						t.Fatalf("got %v, want %s", err, CodeCardPortrait)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				img := checkImage(t, kind, got.Data)
				b := img.Bounds()
				wantW, wantH := w, h
				if o >= 5 {
					wantW, wantH = h, w
				}
				if kind == pipeline.MediaFaceImage && o == 1 && bytes.Equal(got.Data, in) {
					// passed through; sizes are the stored ones
				} else if b.Dx()*wantH != b.Dy()*wantW {
					t.Errorf("output %v, want aspect of %d×%d", b.Size(), wantW, wantH)
				}
				pts := []image.Point{{8, 8}, {b.Dx() - 9, 8}, {b.Dx() - 9, b.Dy() - 9}, {8, b.Dy() - 9}}
				for i, p := range pts {
					red := isRed(img.At(p.X, p.Y))
					if red != (i == corner[o]) {
						t.Errorf("orientation %d: corner %d red=%v, want red only at corner %d (note %q)", o, i, red, corner[o], got.Note)
					}
				}
			})
		}
	}
}

func kind2(k pipeline.MediaKind) string { return string(k) }

func TestImages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	compliant := encJPEG(t, photo(640, 480, 4), 80)
	if n := b64len(len(compliant)); n < MinBase64 || n > faceSpec.maxBase64 {
		t.Fatalf("fixture: compliant JPEG base64 is %d", n)
	}
	var pngBuf bytes.Buffer
	nrgba := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	draw.Draw(nrgba, nrgba.Bounds(), photo(800, 600, 10), image.Point{}, draw.Src)
	for i := range 100 { // a transparent stripe: must come out white, not black
		for x := range 800 {
			nrgba.SetNRGBA(x, i, color.NRGBA{0, 0, 0, 0})
		}
	}
	if err := png.Encode(&pngBuf, nrgba); err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 700, 500))
	draw.Draw(gray, gray.Bounds(), photo(700, 500, 8), image.Point{}, draw.Src)
	cmyk, err := os.ReadFile(filepath.Join("testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "src.png"), pngBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	requireFFmpeg(t)
	webp := ffmpegGen(t, dir, "x.webp", "-i", filepath.Join(dir, "src.png"), "-c:v", "libwebp", "-quality", "80")
	progressive, err := os.ReadFile(filepath.Join("testdata", "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	big := encJPEG(t, photo(9000, 6000, 0), 70)
	large12 := encJPEG(t, photo(4032, 3024, 6), 92)

	cases := []struct {
		name  string
		kind  pipeline.MediaKind
		data  []byte
		code  string // expected rejection, "" for success
		same  bool   // output must equal input
		check func(t *testing.T, img image.Image)
	}{
		{name: "compliant face passes through", kind: pipeline.MediaFaceImage, data: compliant, same: true},
		{name: "compliant card passes through", kind: pipeline.MediaIDCardImage, data: compliant, same: true},
		{name: "progressive card passes through", kind: pipeline.MediaIDCardImage, data: progressive, same: true},
		{name: "progressive face", kind: pipeline.MediaFaceImage, data: progressive},
		{name: "grayscale passes through", kind: pipeline.MediaFaceImage, data: encJPEG(t, gray, 85), same: true},
		{name: "grayscale card grows", kind: pipeline.MediaIDCardImage, data: encJPEG(t, gray, 30)},
		{name: "png with alpha", kind: pipeline.MediaIDCardImage, data: pngBuf.Bytes(), check: func(t *testing.T, img image.Image) {
			r, g, b, _ := img.At(400, 10).RGBA()
			if r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
				t.Errorf("transparent area is %d,%d,%d, want white", r>>8, g>>8, b>>8)
			}
		}},
		{name: "webp", kind: pipeline.MediaFaceImage, data: webp},
		{name: "cmyk", kind: pipeline.MediaIDCardImage, data: cmyk, check: func(t *testing.T, img image.Image) {
			b := img.Bounds()
			if !isRed(img.At(b.Dx()/4, b.Dy()/2)) || !isBlue(img.At(b.Dx()*3/4, b.Dy()/2)) {
				t.Errorf("CMYK colours wrong: left %v right %v", img.At(b.Dx()/4, b.Dy()/2), img.At(b.Dx()*3/4, b.Dy()/2))
			}
		}},
		{name: "9000x6000 card", kind: pipeline.MediaIDCardImage, data: big},
		{name: "9000x6000 face", kind: pipeline.MediaFaceImage, data: big},
		{name: "12MP face", kind: pipeline.MediaFaceImage, data: large12},
		{name: "12MP card", kind: pipeline.MediaIDCardImage, data: large12},
		{name: "flat image grows over 10 KB", kind: pipeline.MediaFaceImage, data: encJPEG(t, photo(300, 300, 0), 50)},
		{name: "truncated", kind: pipeline.MediaFaceImage, data: compliant[:len(compliant)/2], code: CodeCorruptImage},
		{name: "header only", kind: pipeline.MediaFaceImage, data: compliant[:20], code: CodeCorruptImage},
		{name: "200x200", kind: pipeline.MediaFaceImage, data: encJPEG(t, photo(200, 200, 20), 90), code: CodeTooSmall},
		{name: "portrait card", kind: pipeline.MediaIDCardImage, data: encJPEG(t, photo(480, 640, 4), 80), code: CodeCardPortrait},
		{name: "extreme aspect", kind: pipeline.MediaIDCardImage, data: encJPEG(t, photo(8000, 310, 4), 80), code: CodeCannotFit},
		{name: "empty", kind: pipeline.MediaFaceImage, data: nil, code: CodeEmpty},
		{name: "text", kind: pipeline.MediaFaceImage, data: []byte("name,id\nZhang San,110101199003077777\n"), code: CodeNotImage},
		{name: "unknown kind", kind: "selfie", data: compliant, code: CodeUnknownKind},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := New(Config{}).Prepare(ctx, c.kind, c.data)
			if c.code != "" {
				if ErrorCode(err) != c.code {
					t.Fatalf("got %v, want rejection %s", err, c.code)
				}
				if len(err.Error()) > 400 {
					t.Errorf("message too long: %q", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Note == "" {
				t.Error("empty note")
			}
			if c.same != bytes.Equal(got.Data, c.data) {
				t.Errorf("output identical to input = %v, want %v (note %q)", !c.same, c.same, got.Note)
			}
			img := checkImage(t, c.kind, got.Data)
			if c.check != nil {
				c.check(t, img)
			}
			t.Logf("%s: %s", c.name, got.Note)
		})
	}
}

func TestProgressiveFixtureIsProgressive(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := scanJPEG(data); !ok || info.sof != 0xC2 {
		t.Fatalf("fixture is not a progressive JPEG (SOF %#x)", info.sof)
	}
}

func TestContextCancelledIsNotRejection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, kind := range []pipeline.MediaKind{pipeline.MediaFaceImage, pipeline.MediaVideo} {
		_, err := New(Config{}).Prepare(ctx, kind, []byte("x"))
		var rej pipeline.Rejection
		if err == nil || errors.As(err, &rej) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: got %v, want a wrapped context.Canceled that is not a Rejection", kind, err)
		}
	}
}

// smallVideo is a 1 s MP4 made by ffmpeg.
func smallVideo(t *testing.T) []byte {
	t.Helper()
	requireFFmpeg(t)
	return ffmpegGen(t, t.TempDir(), "small.mp4", lavfi("320x240", "25", "1")...)
}

func TestMissingFFmpegIsNotRejection(t *testing.T) {
	p := New(Config{FFmpeg: "/nonexistent/ffmpeg", FFprobe: "/nonexistent/ffprobe"})
	_, err := p.Prepare(context.Background(), pipeline.MediaVideo, smallVideo(t))
	var rej pipeline.Rejection
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("got %v, want a non-rejection error", err)
	}
}

func TestBadTempDirIsNotRejection(t *testing.T) {
	p := New(Config{TempDir: "/nonexistent/dir"})
	_, err := p.Prepare(context.Background(), pipeline.MediaVideo, smallVideo(t))
	var rej pipeline.Rejection
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("got %v, want a non-rejection error", err)
	}
}

func TestEXIFParser(t *testing.T) {
	jpg := encJPEG(t, photo(320, 320, 0), 80)
	for o := 1; o <= 8; o++ {
		for _, be := range []bool{false, true} {
			info, ok := scanJPEG(withOrientation(jpg, o, be))
			if !ok || info.orientation != o {
				t.Errorf("orientation %d (big endian %v): got %d ok=%v", o, be, info.orientation, ok)
			}
		}
	}
	if info, _ := scanJPEG(withOrientation(jpg, 9, false)); info.orientation != 0 {
		t.Errorf("invalid orientation 9 read as %d", info.orientation)
	}
}
