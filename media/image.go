package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register GIF (first frame)
	"image/jpeg"
	_ "image/png" // register PNG
	"strings"

	_ "golang.org/x/image/bmp"  // register BMP
	"golang.org/x/image/tiff"   // registers TIFF (first page)
	_ "golang.org/x/image/webp" // register WebP

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// IVS image limits, shared by every kind.
const (
	MinSide   = 300             // px, each side after orientation
	MaxSide   = 4000            // px, each side
	MinBase64 = 10 * 1024       // standard base64 length, lower bound
	MaxBase64 = 4 * 1024 * 1024 // standard base64 length, upper bound

	// maxPixels bounds memory: larger images are rejected before decoding
	// (an RGBA copy of 100 MP is 400 MB).
	maxPixels = 100_000_000
)

// imageSpec is the target for one image kind.
type imageSpec struct {
	kind      pipeline.MediaKind
	maxLong   int  // long side of a re-encoded image
	maxBase64 int  // target base64 length of a re-encoded (or passed-through) image
	landscape bool // width must be ≥ height after orientation
}

var (
	// faceSpec: IVS crops faces whose base64 exceeds ~90 KB and may fail,
	// so faces are kept at base64 ≤ 88 KB and at most 1024 px long.
	faceSpec = imageSpec{kind: pipeline.MediaFaceImage, maxLong: 1024, maxBase64: 88 * 1024}
	// cardSpec: ID cards keep detail (2048 px is ~600 dpi across a card
	// filling the frame) within ~1 MB of base64; a compliant card JPEG up
	// to the 4 MB IVS limit passes through unchanged.
	cardSpec = imageSpec{kind: pipeline.MediaIDCardImage, maxLong: 2048, maxBase64: 1 << 20, landscape: true}
)

// b64len is the standard (padded) base64 length of n bytes.
func b64len(n int) int { return base64.StdEncoding.EncodedLen(n) }

// sniffImage names the format of data from its magic bytes: a format
// image.Decode knows, "heic"/"avif" (known but unsupported), or "".
func sniffImage(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) > 26:
		return "bmp"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch brand := string(data[8:12]); brand {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "heic"
		case "avif", "avis":
			return "avif"
		}
	}
	return ""
}

// prepareImage makes data a JPEG that meets spec and the IVS limits.
func prepareImage(ctx context.Context, spec imageSpec, data []byte) (pipeline.Prepared, error) {
	format := sniffImage(data)
	switch format {
	case "":
		return pipeline.Prepared{}, reject(CodeNotImage, "not a JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC or AVIF image")
	case "heic", "avif":
		if decodeHEIF == nil {
			return pipeline.Prepared{}, reject(CodeUnsupportedFormat,
				fmt.Sprintf("%s images are not supported by this build (no libheif); upload JPEG, PNG or WebP", strings.ToUpper(format)))
		}
	case "webp":
		if animatedWebP(data) {
			return pipeline.Prepared{}, reject(CodeUnsupportedFormat, "animated WebP is not supported; upload a still JPEG, PNG or WebP")
		}
	}

	// Size and orientation from the header alone.
	orientation := 1
	var w, h int
	var jinfo jpegInfo
	switch format {
	case "jpeg":
		var ok bool
		if jinfo, ok = scanJPEG(data); !ok {
			return pipeline.Prepared{}, reject(CodeCorruptImage, "damaged JPEG header")
		}
		w, h = jinfo.width, jinfo.height
		if jinfo.orientation > 1 {
			orientation = jinfo.orientation
		}
	case "heic", "avif":
		// libheif applies the file's rotation and mirroring while decoding;
		// the size is checked after decoding (against maxPixels first).
	default:
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return pipeline.Prepared{}, decodeFailure(format, "header", err)
		}
		w, h = cfg.Width, cfg.Height
		budget := checkDecodeBudget(format, w, h, bytesPerPixel(cfg.ColorModel))
		if format == "tiff" {
			budget = checkTIFFBudget(data, w, h, bytesPerPixel(cfg.ColorModel))
			if o := exifOrientation(data); o > 1 { // a TIFF's own Orientation tag
				orientation = o
			}
		}
		if budget != nil {
			return pipeline.Prepared{}, budget
		}
	}
	ow, oh := w, h
	if orientation >= 5 {
		ow, oh = h, w
	}
	if format != "heic" && format != "avif" {
		if err := checkGeometry(spec, ow, oh); err != nil {
			return pipeline.Prepared{}, err
		}
	}
	if format == "jpeg" {
		if err := checkJPEGBudget(jinfo); err != nil {
			return pipeline.Prepared{}, err
		}
		if passThrough(spec, jinfo, len(data)) {
			// Every image sent is decoded once: at the smallest DCT scale a
			// damaged stream is found in a few milliseconds.
			if err := verifyJPEG(data); err != nil {
				return pipeline.Prepared{}, err
			}
			return pipeline.Prepared{Data: data, Note: "passed through"}, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: prepare image: %w", err)
	}

	var img image.Image
	var err error
	if format == "heic" || format == "avif" {
		if img, orientation, err = decodeHEIF(data, maxPixels); err != nil {
			return pipeline.Prepared{}, err
		}
		ow, oh = img.Bounds().Dx(), img.Bounds().Dy()
		if orientation >= 5 {
			ow, oh = oh, ow
		}
		if err := checkGeometry(spec, ow, oh); err != nil {
			return pipeline.Prepared{}, err
		}
	} else if img, err = decodeImage(spec, format, data, jinfo, orientation); err != nil {
		return pipeline.Prepared{}, err
	}
	out, err := fitImage(ctx, spec, img, orientation)
	if err != nil {
		return pipeline.Prepared{}, err
	}
	var did []string
	if format != "jpeg" {
		did = append(did, "converted "+format+" to jpeg")
	}
	if orientation > 1 {
		did = append(did, fmt.Sprintf("applied EXIF orientation %d", orientation))
	}
	did = append(did, fmt.Sprintf("recompressed %s → %s at %d×%d (q%d)",
		formatBytes(len(data)), formatBytes(len(out.data)), out.w, out.h, out.quality))
	return pipeline.Prepared{Data: out.data, Note: strings.Join(did, ", ")}, nil
}

// decodeImage decodes data (format, JPEG header jinfo, orientation o): JPEGs
// by libjpeg-turbo scaled down to what spec needs when the build has it,
// the rest by the Go decoders.
func decodeImage(spec imageSpec, format string, data []byte, jinfo jpegInfo, o int) (image.Image, error) {
	if format == "jpeg" && fastDecode != nil {
		uw, uh, err := firstTarget(spec, jinfo.width, jinfo.height, o)
		if err != nil {
			return nil, err
		}
		img, err := fastDecode(data, uw, uh)
		if err != nil {
			return nil, reject(CodeCorruptImage, fmt.Sprintf("jpeg does not decode: %v", err))
		}
		if img != nil {
			return img, nil
		}
	}
	if format == "jpeg" {
		if err := checkDecodeBudget(format, jinfo.width, jinfo.height, max(1, jinfo.components)); err != nil {
			return nil, err
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeFailure(format, "image", err)
	}
	return img, nil
}

// decodeFailure is the rejection of a Go decoder's error on part ("header"
// or "image") of a picture: a variant the decoder does not implement (JPEG
// arithmetic coding or unusual sampling, JPEG-compressed or CMYK TIFF) is
// media.unsupported_format, anything else media.corrupt_image.
func decodeFailure(format, part string, err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		tiffUnsupported tiff.UnsupportedError
	)
	if errors.As(err, &jpegUnsupported) || errors.As(err, &tiffUnsupported) {
		return reject(CodeUnsupportedFormat, fmt.Sprintf("%s variant not supported: %v", format, err))
	}
	if part == "header" {
		return reject(CodeCorruptImage, fmt.Sprintf("damaged %s header: %v", format, err))
	}
	return reject(CodeCorruptImage, fmt.Sprintf("%s does not decode: %v", format, err))
}

// verifyJPEG decodes data once, as cheaply as the build allows (1/8 scale
// with libjpeg-turbo), and rejects a stream whose pixels are damaged.
func verifyJPEG(data []byte) error {
	if fastDecode != nil {
		img, err := fastDecode(data, 1, 1)
		if err != nil {
			return reject(CodeCorruptImage, fmt.Sprintf("jpeg does not decode: %v", err))
		}
		if img != nil {
			return nil
		}
	}
	if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
		return decodeFailure("jpeg", "image", err)
	}
	return nil
}

// decodeHEIF, when set (cgo build with libheif, heif.go), decodes the
// primary picture of a HEIC/HEIF or AVIF file with its rotation and
// mirroring applied, and returns the EXIF orientation still to apply,
// refusing pictures over maxPixels before decoding them.
var decodeHEIF func(data []byte, maxPixels int) (image.Image, int, error)

// firstTarget is the size, in stored orientation, that fitImage first tries
// for a w×h image with orientation o.
func firstTarget(spec imageSpec, w, h, o int) (uw, uh int, err error) {
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	scale, err := initialScale(spec, ow, oh)
	if err != nil {
		return 0, 0, err
	}
	tw, th := targetSize(ow, oh, scale)
	if o >= 5 {
		return th, tw, nil
	}
	return tw, th, nil
}

// checkGeometry rejects an image whose oriented size w×h can never be sent.
func checkGeometry(spec imageSpec, w, h int) error {
	if w <= 0 || h <= 0 {
		return reject(CodeCorruptImage, "image has no pixels")
	}
	if w < MinSide || h < MinSide {
		return reject(CodeTooSmall, fmt.Sprintf("image is %d×%d; IVS needs at least %d px a side", w, h, MinSide))
	}
	if spec.landscape && w < h {
		return reject(CodeCardPortrait, fmt.Sprintf("ID card image is portrait (%d×%d after orientation); it must be landscape", w, h))
	}
	if w*h > maxPixels {
		return reject(CodeCannotFit, fmt.Sprintf("image is %d×%d, more than %d MP", w, h, maxPixels/1_000_000))
	}
	return nil
}

// passThrough reports whether a JPEG already meets every limit and can be
// sent byte for byte (once verifyJPEG has decoded it).
func passThrough(spec imageSpec, j jpegInfo, size int) bool {
	b := b64len(size)
	maxB := MaxBase64
	if spec.kind == pipeline.MediaFaceImage {
		maxB = spec.maxBase64
	}
	colour := j.components == 1 || (j.components == 3 && !j.rgbCoded() && j.commonSampling())
	return (j.sof == 0xC0 || j.sof == 0xC1 || j.sof == 0xC2) && j.precision == 8 && colour &&
		j.orientation <= 1 && j.complete &&
		j.width <= MaxSide && j.height <= MaxSide &&
		b >= MinBase64 && b <= maxB
}
