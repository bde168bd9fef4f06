package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

const (
	firstQuality   = 85 // tried first at every size
	midQuality     = 80
	minQuality     = 75 // never lower: fewer pixels are better than compression artefacts
	maxShrinkSteps = 8  // size reductions before giving up
	maxGrowSteps   = 4  // 1.5× steps when even q100 encodes under MinBase64
)

// encoded is a JPEG produced by fitImage.
type encoded struct {
	data    []byte
	w, h    int // oriented size
	quality int
}

// fitImage resizes img (stored orientation o) and encodes it as a JPEG
// whose size and base64 length meet spec: dimensions are chosen first, then
// the highest of qualities 85, 80 and 75 that fits (at most three encodes a
// size); if none fits, the picture shrinks by about what the quality-75
// encoding overshot and the search repeats, down to MinSide.
func fitImage(ctx context.Context, spec imageSpec, img image.Image, o int) (encoded, error) {
	b := img.Bounds()
	ow, oh := b.Dx(), b.Dy()
	if o >= 5 {
		ow, oh = oh, ow
	}
	long, short := max(ow, oh), min(ow, oh)
	scale, err := initialScale(spec, ow, oh)
	if err != nil {
		return encoded{}, err
	}
	minScale := MinSide / float64(short)
	maxScale := MaxSide / float64(long)
	grow := 0
	for shrink := 0; shrink <= maxShrinkSteps; {
		if err := ctx.Err(); err != nil {
			return encoded{}, fmt.Errorf("media: encode image: %w", err)
		}
		tw, th := targetSize(ow, oh, scale)
		uw, uh := tw, th
		if o >= 5 {
			uw, uh = th, tw
		}
		pic := resample(img, uw, uh, o)
		tw, th = pic.Bounds().Dx(), pic.Bounds().Dy() // 4:2:0 rotation may crop a pixel
		out, tooSmall, over, err := searchQuality(pic, spec.maxBase64)
		if err != nil {
			return encoded{}, err
		}
		switch {
		case out != nil:
			return encoded{data: out.data, w: tw, h: th, quality: out.quality}, nil
		case tooSmall:
			// Even q100 is under MinBase64 (a flat picture): enlarge.
			if grow >= maxGrowSteps || scale >= maxScale {
				return encoded{}, reject(CodeCannotFit, fmt.Sprintf(
					"image is too plain: even at quality 100 and %d×%d its JPEG is under the IVS minimum of %d base64 bytes", tw, th, MinBase64))
			}
			grow++
			scale = min(maxScale, scale*1.5)
		default:
			if scale <= minScale {
				return encoded{}, reject(CodeCannotFit, fmt.Sprintf(
					"image does not compress under %d base64 bytes even at %d×%d", spec.maxBase64, tw, th))
			}
			shrink++
			// JPEG size grows about with the pixel count.
			step := min(0.9, max(0.5, 0.97*math.Sqrt(float64(spec.maxBase64)/float64(over))))
			scale = max(minScale, scale*step)
		}
	}
	return encoded{}, reject(CodeCannotFit, fmt.Sprintf("image does not compress under %d base64 bytes", spec.maxBase64))
}

// initialScale is the first scale fitImage tries for an oriented ow×oh
// image: long side at most spec.maxLong, short side at least MinSide.
func initialScale(spec imageSpec, ow, oh int) (float64, error) {
	long, short := max(ow, oh), min(ow, oh)
	scale := min(1, float64(spec.maxLong)/float64(long))
	if float64(short)*scale < MinSide {
		scale = MinSide / float64(short)
	}
	if float64(long)*scale > MaxSide {
		return 0, reject(CodeCannotFit, fmt.Sprintf(
			"image is %d×%d; no size keeps both sides within %d–%d px", ow, oh, MinSide, MaxSide))
	}
	return scale, nil
}

// fastEncode, when set (by the default cgo build, turbo.go), encodes img as a JPEG at
// quality q; ok is false for images it leaves to image/jpeg.
var fastEncode func(img image.Image, q int) (data []byte, ok bool, err error)

type qResult struct {
	data    []byte
	quality int
}

// searchQuality finds the highest of qualities 85, 80 and 75 whose encoding
// has a base64 length in [MinBase64, maxB64]. It returns nil and the base64
// length at quality 75 (over) if even that is too large, or tooSmall if
// even quality 100 is under MinBase64.
func searchQuality(img image.Image, maxB64 int) (res *qResult, tooSmall bool, over int, err error) {
	enc := func(q int) ([]byte, int, error) {
		if fastEncode != nil {
			if data, ok, err := fastEncode(img, q); ok || err != nil {
				return data, b64len(len(data)), err
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, 0, fmt.Errorf("media: jpeg encode: %w", err)
		}
		return buf.Bytes(), b64len(buf.Len()), nil
	}
	data, n, err := enc(firstQuality)
	if err != nil {
		return nil, false, 0, err
	}
	if n <= maxB64 {
		if n >= MinBase64 {
			return &qResult{data, firstQuality}, false, 0, nil
		}
		for _, q := range []int{95, 100} {
			if data, n, err = enc(q); err != nil {
				return nil, false, 0, err
			}
			if n >= MinBase64 && n <= maxB64 {
				return &qResult{data, q}, false, 0, nil
			}
		}
		return nil, true, 0, nil
	}
	low, nLow, err := enc(minQuality)
	if err != nil || nLow > maxB64 {
		return nil, false, nLow, err
	}
	if data, n, err = enc(midQuality); err != nil {
		return nil, false, 0, err
	}
	if n <= maxB64 {
		return &qResult{data, midQuality}, false, 0, nil
	}
	return &qResult{low, minQuality}, false, 0, nil
}

// targetSize is ow×oh scaled by about scale, clamped to the IVS sides. When
// scale is a reduction, a whole-number divisor within 20% of it is preferred:
// a k×k box filter is both the fastest and an alias-free reduction.
func targetSize(ow, oh int, scale float64) (int, int) {
	if scale < 1 {
		k := int(math.Ceil(1/scale - 1e-9))
		if float64(k)*scale < 1.2 && min(ow, oh)/k >= MinSide {
			return ow / k, oh / k
		}
	}
	tw := max(MinSide, min(MaxSide, int(math.Round(float64(ow)*scale))))
	th := max(MinSide, min(MaxSide, int(math.Round(float64(oh)*scale))))
	return tw, th
}
