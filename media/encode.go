package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

// qualities is the ladder searched when the first encode is too large.
var qualities = []int{30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85}

const (
	firstQuality   = 85 // tried first at every size
	maxShrinkSteps = 6  // 0.75× steps before giving up
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
// the highest quality on the ladder that fits, at most four encodes a size;
// if none fits the size shrinks by 0.75 and the search repeats.
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
		out, tooSmall, err := searchQuality(pic, spec.maxBase64)
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
			scale = max(minScale, scale*0.75)
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

// searchQuality finds the highest quality on the ladder whose encoding has
// a base64 length in [MinBase64, maxB64], in at most four encodes. It
// returns nil if every quality is too large, or tooSmall if even quality
// 100 is under MinBase64.
func searchQuality(img image.Image, maxB64 int) (res *qResult, tooSmall bool, err error) {
	enc := func(q int) ([]byte, error) {
		if fastEncode != nil {
			if data, ok, err := fastEncode(img, q); ok || err != nil {
				return data, err
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, fmt.Errorf("media: jpeg encode: %w", err)
		}
		return buf.Bytes(), nil
	}
	data, err := enc(firstQuality)
	if err != nil {
		return nil, false, err
	}
	if n := b64len(len(data)); n <= maxB64 {
		if n >= MinBase64 {
			return &qResult{data, firstQuality}, false, nil
		}
		for _, q := range []int{95, 100} {
			if data, err = enc(q); err != nil {
				return nil, false, err
			}
			if n := b64len(len(data)); n >= MinBase64 && n <= maxB64 {
				return &qResult{data, q}, false, nil
			}
		}
		return nil, true, nil
	}
	// Binary search below firstQuality: lo..hi are ladder indexes still possible.
	lo, hi := 0, len(qualities)-2
	var best *qResult
	for probes := 0; probes < 3 && lo <= hi; probes++ {
		mid := (lo + hi) / 2
		if probes == 2 && best == nil {
			mid = lo // last chance: try the lowest remaining quality
		}
		q := qualities[mid]
		if data, err = enc(q); err != nil {
			return nil, false, err
		}
		if n := b64len(len(data)); n <= maxB64 && n >= MinBase64 {
			best = &qResult{data, q}
			lo = mid + 1
		} else if n < MinBase64 {
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return best, false, nil
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
