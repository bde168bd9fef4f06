package media

import (
	"fmt"
	"image"
	"image/color"
)

// maxDecodeBytes bounds what one image may take while it is decoded: the
// full-size pixels of an image a Go decoder reads whole (PNG, WebP, GIF,
// BMP, and JPEG in the pure-Go build) or the coefficient buffer libjpeg
// keeps for a progressive JPEG. With Config.MaxConcurrent preparations at
// once this bounds a worker's memory whatever is uploaded.
const maxDecodeBytes = 160 << 20

// checkDecodeBudget rejects a w×h image of format that a Go decoder would
// hold at bpp bytes a pixel beyond maxDecodeBytes.
func checkDecodeBudget(format string, w, h, bpp int) error {
	if w <= 0 || h <= 0 {
		return reject(CodeCorruptImage, "image has no pixels")
	}
	if n := w * h * bpp; w*h > maxPixels || n > maxDecodeBytes {
		return reject(CodeCannotFit, fmt.Sprintf("%s image is %d×%d: decoding it needs %d MB, over the %d MB budget",
			format, w, h, n>>20, maxDecodeBytes>>20))
	}
	return nil
}

// checkJPEGBudget rejects a JPEG whose decoding would need more than
// maxDecodeBytes: a progressive JPEG's coefficients in libjpeg (two bytes
// each), and the whole image in the pure-Go build.
func checkJPEGBudget(j jpegInfo) error {
	need := j.coefficientBytes()
	if fastDecode == nil {
		need = 2*need + j.planeBytes()
	}
	if j.width*j.height <= maxPixels && need <= maxDecodeBytes {
		return nil
	}
	return reject(CodeCannotFit, fmt.Sprintf("jpeg is %d×%d: decoding it needs %d MB, over the %d MB budget",
		j.width, j.height, need>>20, maxDecodeBytes>>20))
}

// planeBytes is the size of a JPEG's decoded planes at full scale.
func (j jpegInfo) planeBytes() int {
	var hmax, vmax int
	for _, s := range j.sampling {
		hmax, vmax = max(hmax, int(s>>4)), max(vmax, int(s&15))
	}
	n := 0
	for _, s := range j.sampling {
		if h, v := int(s>>4), int(s&15); h > 0 && v > 0 {
			n += (j.width*h/hmax + 1) * (j.height*v/vmax + 1)
		}
	}
	return n
}

// bytesPerPixel is what a Go decoder allocates per pixel for model.
func bytesPerPixel(model color.Model) int {
	switch model {
	case color.GrayModel:
		return 1
	case color.Gray16Model, color.YCbCrModel:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := model.(color.Palette); ok {
		return 1
	}
	return 4
}

// animatedWebP reports whether a WebP file has the VP8X animation flag.
func animatedWebP(data []byte) bool {
	return len(data) >= 21 && string(data[12:16]) == "VP8X" && data[20]&0x02 != 0
}

// fastDecode, when set (by the default cgo build, turbo.go), decodes a JPEG
// to at least uw×uh pixels in stored orientation, possibly scaled down while
// decoding. It returns nil, nil for JPEGs it does not handle.
var fastDecode func(data []byte, uw, uh int) (image.Image, error)
