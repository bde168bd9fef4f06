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

// checkTIFFBudget is checkDecodeBudget for a w×h TIFF at bpp bytes a
// pixel: golang.org/x/image/tiff also holds one strip or tile, decompressed,
// at up to 8 bytes a pixel (its own bound for a block), and a file written
// as one strip holds the whole picture again.
func checkTIFFBudget(data []byte, w, h, bpp int) error {
	if err := checkDecodeBudget("tiff", w, h, bpp); err != nil {
		return err
	}
	bw, bh := w, h
	if tw, ok := ifd0Value(data, 322); ok && tw > 0 { // TileWidth, TileLength
		bw, bh = tw, 0
		bh, _ = ifd0Value(data, 323)
	} else if rows, ok := ifd0Value(data, 278); ok && rows > 0 && rows < h { // RowsPerStrip
		bh = rows
	}
	if bw > 1<<16 || bh > 1<<16 || w*h*bpp+bw*bh*8 > maxDecodeBytes {
		return reject(CodeCannotFit, fmt.Sprintf("tiff image is %d×%d in %d×%d blocks: decoding it needs %d MB, over the %d MB budget",
			w, h, bw, bh, (w*h*bpp+min(bw*bh, 1<<32)*8)>>20, maxDecodeBytes>>20))
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
