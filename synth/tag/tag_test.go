package tag_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/synth/tag"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// photo returns a w×h image with smooth colour gradients and pixel noise.
func photo(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			n := rng.IntN(60)
			img.Set(x, y, color.RGBA{uint8(60 + x*120/w + n), uint8(90 + y*100/h + n/2), uint8(150 - x*60/w + n/3), 255})
		}
	}
	return img
}

func tagged(w, h int, tg tag.Tag) *image.RGBA {
	img := photo(w, h, uint64(tg.Person))
	tag.Draw(img, tg)
	return img
}

func mustRead(t *testing.T, img image.Image, want tag.Tag) {
	t.Helper()
	got, ok := tag.Read(img)
	if !ok || got != want {
		t.Fatalf("Read = %+v, %v; want %+v, true", got, ok, want)
	}
}

func encodeJPEG(t *testing.T, img image.Image, q int) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scale(img image.Image, shortSide int, s xdraw.Scaler) image.Image {
	b := img.Bounds()
	w, h := b.Dx()*shortSide/min(b.Dx(), b.Dy()), b.Dy()*shortSide/min(b.Dx(), b.Dy())
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	s.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

func toGray(img image.Image) image.Image {
	g := image.NewGray(img.Bounds())
	xdraw.Draw(g, g.Bounds(), img, img.Bounds().Min, xdraw.Src)
	return g
}

func toCMYK(img image.Image) image.Image {
	c := image.NewCMYK(img.Bounds())
	xdraw.Draw(c, c.Bounds(), img, img.Bounds().Min, xdraw.Src)
	return c
}

func pngRoundTrip(t *testing.T, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// webpRoundTrip encodes lossy WebP (quality 40) with ffmpeg and decodes it with x/image/webp.
func webpRoundTrip(t *testing.T, img image.Image) image.Image {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.webp")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", in, "-c:v", "libwebp", "-quality", "40", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg webp: %v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := webp.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tags := []tag.Tag{
		{Kind: tag.KindFace, Person: 0},
		{Kind: tag.KindIDCardFront, Person: 12},
		{Kind: tag.KindIDCardBack, Person: 1<<24 - 1},
		{Kind: tag.KindFace, Person: 654321},
	}
	sizes := [][2]int{{640, 800}, {1000, 630}, {300, 300}}
	transforms := []struct {
		name string
		f    func(*testing.T, image.Image) image.Image
	}{
		{"none", func(_ *testing.T, m image.Image) image.Image { return m }},
		{"jpeg q40", func(t *testing.T, m image.Image) image.Image { return encodeJPEG(t, m, 40) }},
		{"jpeg q20", func(t *testing.T, m image.Image) image.Image { return encodeJPEG(t, m, 20) }},
		{"scale 300 catmull-rom", func(_ *testing.T, m image.Image) image.Image { return scale(m, 300, xdraw.CatmullRom) }},
		{"scale 300 nearest", func(_ *testing.T, m image.Image) image.Image { return scale(m, 300, xdraw.NearestNeighbor) }},
		{"scale 300 bilinear then jpeg q40", func(t *testing.T, m image.Image) image.Image {
			return encodeJPEG(t, scale(m, 300, xdraw.BiLinear), 40)
		}},
		{"scale up 1.7x", func(_ *testing.T, m image.Image) image.Image {
			return scale(m, min(m.Bounds().Dx(), m.Bounds().Dy())*17/10, xdraw.ApproxBiLinear)
		}},
		{"gray", func(_ *testing.T, m image.Image) image.Image { return toGray(m) }},
		{"cmyk", func(_ *testing.T, m image.Image) image.Image { return toCMYK(m) }},
		{"gray jpeg q40", func(t *testing.T, m image.Image) image.Image { return encodeJPEG(t, toGray(m), 40) }},
		{"cmyk jpeg q40", func(t *testing.T, m image.Image) image.Image { return encodeJPEG(t, toCMYK(m), 40) }},
		{"png", pngRoundTrip},
		{"webp q40", webpRoundTrip},
		{"webp then scale 300 then jpeg", func(t *testing.T, m image.Image) image.Image {
			return encodeJPEG(t, scale(webpRoundTrip(t, m), 300, xdraw.CatmullRom), 40)
		}},
	}
	for _, tr := range transforms {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			for _, sz := range sizes {
				for _, tg := range tags {
					mustRead(t, tr.f(t, tagged(sz[0], sz[1], tg)), tg)
				}
			}
		})
	}
}

// orient applies one of the 7 non-identity EXIF orientations (2–8) as pixels.
func orient(src image.Image, o int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if o >= 5 {
		w, h = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range b.Dy() {
		for x := range b.Dx() {
			var dx, dy int
			switch o {
			case 2: // mirror horizontal
				dx, dy = b.Dx()-1-x, y
			case 3: // rotate 180
				dx, dy = b.Dx()-1-x, b.Dy()-1-y
			case 4: // mirror vertical
				dx, dy = x, b.Dy()-1-y
			case 5: // transpose
				dx, dy = y, x
			case 6: // rotate 90 clockwise
				dx, dy = b.Dy()-1-y, x
			case 7: // transverse
				dx, dy = b.Dy()-1-y, b.Dx()-1-x
			case 8: // rotate 270 clockwise
				dx, dy = y, b.Dx()-1-x
			}
			dst.Set(dx, dy, src.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

func TestOrientedNotReadable(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 60 {
		tg := tag.Tag{Kind: tag.Kind(1 + i%3), Person: rng.IntN(1 << 24)}
		sz := [][2]int{{200, 250}, {250, 160}, {200, 200}}[i%3]
		img := tagged(sz[0], sz[1], tg)
		mustRead(t, img, tg)
		for o := 2; o <= 8; o++ {
			if got, ok := tag.Read(orient(img, o)); ok {
				t.Errorf("%+v with orientation %d read as %+v", tg, o, got)
			}
		}
	}
}

func TestNoFalsePositives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		var img image.Image
		switch i % 3 {
		case 0:
			img = photo(200+rng.IntN(300), 200+rng.IntN(300), uint64(i))
		case 1: // random black/white blocks, aligned with the code's grid: the hardest case
			img = blocks(rng, 180+rng.IntN(200), 180+rng.IntN(200), tag.Grid)
		default: // random blocks at other sizes, then JPEG
			img = encodeJPEG(t, blocks(rng, 300, 300, 5+rng.IntN(20)), 60)
		}
		if got, ok := tag.Read(img); ok {
			t.Fatalf("noise image %d read as %+v", i, got)
		}
	}
	if _, ok := tag.Read(image.NewGray(image.Rect(0, 0, 400, 400))); ok {
		t.Error("black image read")
	}
	if _, ok := tag.Read(image.NewGray(image.Rect(0, 0, 10, 10))); ok {
		t.Error("tiny image read")
	}
}

// blocks draws random black/white cells so that n cells span the centred code square.
func blocks(rng *rand.Rand, w, h, n int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	side := int(tag.Frac * float64(min(w, h)))
	x0, y0 := (w-side)/2, (h-side)/2
	grid := make(map[[2]int]uint8)
	for y := range h {
		for x := range w {
			k := [2]int{floorDiv((x-x0)*n, side), floorDiv((y-y0)*n, side)}
			v, ok := grid[k]
			if !ok {
				v = uint8(rng.IntN(2) * 255)
				grid[k] = v
			}
			img.Pix[img.PixOffset(x, y)] = v
		}
	}
	return img
}

func floorDiv(a, b int) int {
	if a < 0 {
		return -((-a + b - 1) / b)
	}
	return a / b
}

func TestDrawPanicsOnUnencodable(t *testing.T) {
	t.Parallel()
	for _, tg := range []tag.Tag{{Kind: 0, Person: 1}, {Kind: 8, Person: 1}, {Kind: tag.KindFace, Person: -1}, {Kind: tag.KindFace, Person: 1 << 24}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Draw(%+v) did not panic", tg)
				}
			}()
			tag.Draw(image.NewRGBA(image.Rect(0, 0, 100, 100)), tg)
		}()
	}
}
