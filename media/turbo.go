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

// turboDecode decodes a JPEG to at least uw×uh pixels (stored orientation).
// It returns nil, nil for JPEGs it leaves to image/jpeg (CMYK, 4:1:1).
func turboDecode(data []byte, uw, uh int) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	t := C.tjInitDecompress()
	if t == nil {
		return nil, errors.New("tjInitDecompress failed")
	}
	defer C.tjDestroy(t)
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var w, h, samp, cs C.int
	if C.tjDecompressHeader3(t, buf, size, &w, &h, &samp, &cs) != 0 {
		return nil, fmt.Errorf("turbojpeg header: %s", C.GoString(C.tjGetErrorStr2(t)))
	}
	if cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		return nil, nil
	}
	var ratio image.YCbCrSubsampleRatio
	switch samp {
	case C.TJSAMP_444:
		ratio = image.YCbCrSubsampleRatio444
	case C.TJSAMP_422:
		ratio = image.YCbCrSubsampleRatio422
	case C.TJSAMP_420:
		ratio = image.YCbCrSubsampleRatio420
	case C.TJSAMP_440:
		ratio = image.YCbCrSubsampleRatio440
	case C.TJSAMP_GRAY:
	default:
		return nil, nil
	}
	// Smallest scaling factor ≤ 1 that still covers uw×uh.
	sw, sh := int(w), int(h)
	var n C.int
	factors := unsafe.Slice(C.tjGetScalingFactors(&n), int(n))
	for _, f := range factors {
		if f.num > f.denom {
			continue
		}
		fw, fh := int(C.scaled(w, f.num, f.denom)), int(C.scaled(h, f.num, f.denom))
		if fw >= uw && fh >= uh && fw*fh < sw*sh {
			sw, sh = fw, fh
		}
	}
	const flags = C.TJFLAG_FASTDCT
	if samp == C.TJSAMP_GRAY {
		g := image.NewGray(image.Rect(0, 0, sw, sh))
		p := (*C.uchar)(unsafe.Pointer(&g.Pix[0]))
		if C.decode_planes(t, buf, size, p, nil, nil, C.int(sw), C.int(g.Stride), 0, C.int(sh), flags) != 0 {
			return nil, fmt.Errorf("turbojpeg: %s", C.GoString(C.tjGetErrorStr2(t)))
		}
		return g, nil
	}
	m := image.NewYCbCr(image.Rect(0, 0, sw, sh), ratio)
	if C.decode_planes(t, buf, size,
		(*C.uchar)(unsafe.Pointer(&m.Y[0])), (*C.uchar)(unsafe.Pointer(&m.Cb[0])), (*C.uchar)(unsafe.Pointer(&m.Cr[0])),
		C.int(sw), C.int(m.YStride), C.int(m.CStride), C.int(sh), flags) != 0 {
		return nil, fmt.Errorf("turbojpeg: %s", C.GoString(C.tjGetErrorStr2(t)))
	}
	return m, nil
}
