//go:build cgo && !purego

package media

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>

// decode_planes decodes into three caller-owned planes (Go memory passed as
// separate arguments, which cgo allows) at the scaled size w×h.
static int decode_planes(tjhandle t, const unsigned char *buf, unsigned long size,
		unsigned char *y, unsigned char *u, unsigned char *v,
		int w, int ys, int cs, int h, int flags) {
	unsigned char *planes[3] = {y, u, v};
	int strides[3] = {ys, cs, cs};
	return tjDecompressToYUVPlanes(t, buf, size, planes, w, strides, h, flags);
}

// encode_planes compresses three caller-owned planes (separate arguments for
// cgo's pointer rules); *out is allocated by TurboJPEG and freed with tjFree.
static int encode_planes(tjhandle t, const unsigned char *y, const unsigned char *u, const unsigned char *v,
		int w, int ys, int cs, int h, int samp, unsigned char **out, unsigned long *size, int q) {
	const unsigned char *planes[3] = {y, u, v};
	int strides[3] = {ys, cs, cs};
	return tjCompressFromYUVPlanes(t, planes, w, strides, h, samp, out, size, q, TJFLAG_FASTDCT);
}

static int scaled(int dim, int num, int denom) { return (dim * num + denom - 1) / denom; }
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"strings"
	"unsafe"
)

// In the default cgo build (not -tags purego), JPEGs are decoded by libjpeg-turbo straight
// to YCbCr planes, scaled down in the DCT domain (1/8 … 8/8) to the smallest
// size that still covers the target: a 12 MP photo bound for a 1024 px face
// is decoded at 1/4 size, several times faster than a full decode.
func init() {
	fastDecode = turboDecode
	fastEncode = turboEncode
}

// turboEncode compresses a YCbCr (4:2:0, 4:2:2, 4:4:4, 4:4:0), grey or RGBA
// image at the origin as a baseline JPEG; ok is false for other images.
func turboEncode(img image.Image, q int) (out []byte, ok bool, err error) {
	runtime.LockOSThread() // see turboDecode
	defer runtime.UnlockOSThread()
	t := C.tjInitCompress()
	if t == nil {
		return nil, false, errors.New("tjInitCompress failed")
	}
	defer C.tjDestroy(t)
	var buf *C.uchar
	var size C.ulong
	var rc C.int
	switch m := img.(type) {
	case *image.YCbCr:
		samp, known := map[image.YCbCrSubsampleRatio]C.int{
			image.YCbCrSubsampleRatio420: C.TJSAMP_420, image.YCbCrSubsampleRatio422: C.TJSAMP_422,
			image.YCbCrSubsampleRatio444: C.TJSAMP_444, image.YCbCrSubsampleRatio440: C.TJSAMP_440,
		}[m.SubsampleRatio]
		if !known || m.Rect.Min != (image.Point{}) {
			return nil, false, nil
		}
		rc = C.encode_planes(t, (*C.uchar)(unsafe.Pointer(&m.Y[0])), (*C.uchar)(unsafe.Pointer(&m.Cb[0])),
			(*C.uchar)(unsafe.Pointer(&m.Cr[0])), C.int(m.Rect.Dx()), C.int(m.YStride), C.int(m.CStride),
			C.int(m.Rect.Dy()), samp, &buf, &size, C.int(q))
	case *image.Gray:
		if m.Rect.Min != (image.Point{}) {
			return nil, false, nil
		}
		rc = C.encode_planes(t, (*C.uchar)(unsafe.Pointer(&m.Pix[0])), nil, nil, C.int(m.Rect.Dx()),
			C.int(m.Stride), 0, C.int(m.Rect.Dy()), C.TJSAMP_GRAY, &buf, &size, C.int(q))
	case *image.RGBA:
		if m.Rect.Min != (image.Point{}) {
			return nil, false, nil
		}
		rc = C.tjCompress2(t, (*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(m.Rect.Dx()), C.int(m.Stride),
			C.int(m.Rect.Dy()), C.TJPF_RGBX, &buf, &size, C.TJSAMP_420, C.int(q), C.TJFLAG_FASTDCT)
	default:
		return nil, false, nil
	}
	if buf != nil {
		defer C.tjFree(buf)
	}
	if rc != 0 {
		return nil, false, fmt.Errorf("turbojpeg encode: %s", C.GoString(C.tjGetErrorStr2(t)))
	}
	return C.GoBytes(unsafe.Pointer(buf), C.int(size)), true, nil
}

// decodeFlags: accurate integer DCT (TJFLAG_FASTDCT gives wrong chroma at
// 1/2 scale in libjpeg-turbo 2.1), stop at the first warning so damage is
// seen (warnings that do not touch pixels are then tolerated by
// tolerable), and at most 500 progressive scans (a decompression bomb).
const decodeFlags = C.TJFLAG_STOPONWARNING | C.TJFLAG_LIMITSCANS

// turboDecode decodes a JPEG to at least uw×uh pixels (stored orientation),
// scaled down in the DCT domain to the smallest factor that still covers
// them. Every scan is decoded, so a damaged stream is an error. It returns
// nil, nil for JPEGs it leaves to image/jpeg (unknown subsampling).
func turboDecode(data []byte, uw, uh int) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	// libjpeg-turbo keeps the message of a failed call (warnings included)
	// in thread-local storage, read by tjGetErrorStr2 in a later cgo call:
	// on another OS thread that call read another decode's message (a
	// truncated image's "premature end" judged the extraneous bytes of a
	// sound one, and the other way round, under parallel decodes).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := C.tjInitDecompress()
	if t == nil {
		return nil, errors.New("tjInitDecompress failed")
	}
	defer C.tjDestroy(t)
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var w, h, samp, cs C.int
	if C.tjDecompressHeader3(t, buf, size, &w, &h, &samp, &cs) != 0 {
		// libjpeg-turbo 2.x refuses to name sampling factors outside its
		// list (cjpeg -sample 1x2,2x1,1x1 or 4x2,1x1,1x1, a 3x1 luma) after
		// reading the size, although libjpeg decodes them; 3.x reports
		// TJSAMP_UNKNOWN instead. Either way they are decoded to RGB below.
		msg := C.GoString(C.tjGetErrorStr2(t))
		if !strings.Contains(msg, "Could not determine subsampling type") || w <= 0 || h <= 0 {
			return nil, fmt.Errorf("turbojpeg header: %s", msg)
		}
		samp = -1
	}
	sw, sh := scaledSize(int(w), int(h), uw, uh)
	// run decodes with decodeFlags; a tolerable warning (it stopped the
	// decode, maybe before any output) is followed by a decode that goes on
	// past warnings.
	run := func(decode func(flags C.int) C.int) error {
		if decode(decodeFlags) == 0 {
			return nil
		}
		msg := C.GoString(C.tjGetErrorStr2(t))
		if C.tjGetErrorCode(t) != C.TJERR_WARNING || !tolerable(msg) {
			return fmt.Errorf("turbojpeg: %s", msg)
		}
		if decode(decodeFlags&^C.TJFLAG_STOPONWARNING) != 0 && C.tjGetErrorCode(t) != C.TJERR_WARNING {
			return fmt.Errorf("turbojpeg: %s", C.GoString(C.tjGetErrorStr2(t)))
		}
		return nil
	}
	switch {
	case cs == C.TJCS_CMYK || cs == C.TJCS_YCCK:
		m := image.NewCMYK(image.Rect(0, 0, sw, sh))
		err := run(func(flags C.int) C.int {
			return C.tjDecompress2(t, buf, size, (*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(sw), C.int(m.Stride), C.int(sh), C.TJPF_CMYK, flags)
		})
		if err != nil {
			return nil, err
		}
		return invertedCMYKToRGBA(m), nil
	case cs == C.TJCS_RGB || samp == C.TJSAMP_411 || samp < 0:
		// RGB-coded (cjpeg -rgb, some scanners) or no YUV layout (4:1:1,
		// unusual sampling factors): let libjpeg upsample and convert.
		m := image.NewRGBA(image.Rect(0, 0, sw, sh))
		err := run(func(flags C.int) C.int {
			return C.tjDecompress2(t, buf, size, (*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(sw), C.int(m.Stride), C.int(sh), C.TJPF_RGBX, flags)
		})
		if err != nil {
			return nil, err
		}
		return m, nil
	case samp == C.TJSAMP_GRAY:
		g := image.NewGray(image.Rect(0, 0, sw, sh))
		p := (*C.uchar)(unsafe.Pointer(&g.Pix[0]))
		if err := run(func(flags C.int) C.int {
			return C.decode_planes(t, buf, size, p, nil, nil, C.int(sw), C.int(g.Stride), 0, C.int(sh), flags)
		}); err != nil {
			return nil, err
		}
		return g, nil
	}
	ratio, ok := map[C.int]image.YCbCrSubsampleRatio{
		C.TJSAMP_444: image.YCbCrSubsampleRatio444, C.TJSAMP_422: image.YCbCrSubsampleRatio422,
		C.TJSAMP_420: image.YCbCrSubsampleRatio420, C.TJSAMP_440: image.YCbCrSubsampleRatio440,
	}[samp]
	if !ok {
		return nil, nil
	}
	m := image.NewYCbCr(image.Rect(0, 0, sw, sh), ratio)
	if err := run(func(flags C.int) C.int {
		return C.decode_planes(t, buf, size,
			(*C.uchar)(unsafe.Pointer(&m.Y[0])), (*C.uchar)(unsafe.Pointer(&m.Cb[0])), (*C.uchar)(unsafe.Pointer(&m.Cr[0])),
			C.int(sw), C.int(m.YStride), C.int(m.CStride), C.int(sh), flags)
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// scaledSize is the smallest libjpeg-turbo scaled size (factor ≤ 1) of a
// w×h JPEG that still covers uw×uh.
func scaledSize(w, h, uw, uh int) (sw, sh int) {
	sw, sh = w, h
	var n C.int
	factors := unsafe.Slice(C.tjGetScalingFactors(&n), int(n))
	for _, f := range factors {
		if f.num > f.denom {
			continue
		}
		fw := int(C.scaled(C.int(w), f.num, f.denom))
		fh := int(C.scaled(C.int(h), f.num, f.denom))
		if fw >= uw && fh >= uh && fw*fh < sw*sh {
			sw, sh = fw, fh
		}
	}
	return sw, sh
}
