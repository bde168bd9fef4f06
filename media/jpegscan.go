package media

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// jpegInfo is what a marker walk learns about a JPEG without decoding it.
type jpegInfo struct {
	sof            byte   // SOFn marker: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, …
	precision      int    // bits per sample (8, or 12 for extended JPEGs)
	width, height  int    // stored (unoriented) size
	components     int    // 1 grey, 3 YCbCr (or RGB), 4 CMYK/YCCK
	adobeTransform int    // APP14 Adobe transform flag, -1 if no Adobe segment
	orientation    int    // EXIF orientation 1–8, 0 if absent or invalid
	complete       bool   // an EOI marker follows the first scan's start
	ids            []byte // component identifiers, in frame order
	sampling       []byte // component sampling factors (h<<4 | v), in frame order
}

// rgbCoded reports whether the three components are R, G and B rather than
// YCbCr (cjpeg -rgb, some scanners), as libjpeg decides it.
func (j jpegInfo) rgbCoded() bool {
	if j.components != 3 {
		return false
	}
	return j.adobeTransform == 0 || string(j.ids) == "RGB"
}

// commonSampling reports whether a colour JPEG's sampling factors are one
// of the layouts every decoder knows (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1:
// luma 1x1, 2x1, 2x2, 1x2 or 4x1 and both chroma 1x1). Others (cjpeg
// -sample 1x2,2x1,1x1, 4:1:0) are valid but re-encoded rather than sent as
// they are: IVS's decoder is not known to read them.
func (j jpegInfo) commonSampling() bool {
	if len(j.sampling) != 3 || j.sampling[1] != 0x11 || j.sampling[2] != 0x11 {
		return false
	}
	switch j.sampling[0] {
	case 0x11, 0x21, 0x22, 0x12, 0x41:
		return true
	}
	return false
}

// coefficientBytes is what libjpeg holds in memory for a progressive (or
// multi-scan) JPEG while decoding: every DCT coefficient of the image, two
// bytes each. Baseline JPEGs are decoded a strip at a time.
func (j jpegInfo) coefficientBytes() int {
	if j.sof != 0xC2 && j.sof != 0xC6 && j.sof != 0xCA && j.sof != 0xCE {
		return 0
	}
	var hmax, vmax int
	for _, s := range j.sampling {
		hmax, vmax = max(hmax, int(s>>4)), max(vmax, int(s&15))
	}
	n := 0
	for _, s := range j.sampling {
		h, v := int(s>>4), int(s&15)
		if h == 0 || v == 0 {
			continue
		}
		n += (j.width*h/hmax + 7) / 8 * ((j.height*v/vmax + 7) / 8) * 64 * 2
	}
	return n
}

// scanJPEG walks the markers of a JPEG up to its first scan. ok is false when
// data is not a well-formed JPEG header.
func scanJPEG(data []byte) (info jpegInfo, ok bool) {
	info.adobeTransform = -1
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return info, false
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return info, false
		}
		m := data[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) { // markers without a length
			i += 2
			continue
		}
		if m == 0xD9 {
			return info, false // EOI before any scan
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return info, false
		}
		seg := data[i+4 : i+2+n]
		switch {
		case m == 0xE1 && info.orientation == 0 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			info.orientation = exifOrientation(seg[6:])
		case m == 0xEE && bytes.HasPrefix(seg, []byte("Adobe")) && len(seg) >= 12:
			info.adobeTransform = int(seg[11])
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 6 || info.sof != 0 {
				return info, false
			}
			info.sof = m
			info.precision = int(seg[0])
			info.height = int(binary.BigEndian.Uint16(seg[1:]))
			info.width = int(binary.BigEndian.Uint16(seg[3:]))
			info.components = int(seg[5])
			for c := 0; c < info.components && 8+3*c < len(seg); c++ {
				info.ids = append(info.ids, seg[6+3*c])
				info.sampling = append(info.sampling, seg[7+3*c])
			}
		case m == 0xDA:
			if info.sof == 0 {
				return info, false
			}
			// 0xFF 0xD9 cannot occur inside entropy-coded data (0xFF is stuffed).
			// Search from the end: EOI is normally the last marker.
			info.complete = bytes.LastIndex(data, []byte{0xFF, 0xD9}) > i
			return info, true
		}
		i += 2 + n
	}
	return info, false
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 of a TIFF
// structure: a JPEG's EXIF block, or a TIFF file. It returns 0 when the tag
// is absent or out of range.
func exifOrientation(tiff []byte) int {
	v, ok := ifd0Value(tiff, 0x0112)
	if !ok || v < 1 || v > 8 {
		return 0
	}
	return v
}

// ifd0Value reads a SHORT or LONG tag of IFD0 of a TIFF structure; ok is
// false when the tag is absent or the structure unreadable.
func ifd0Value(tiff []byte, tag uint16) (v int, ok bool) {
	if len(tiff) < 8 {
		return 0, false
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, false
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 0, false
	}
	off := int(bo.Uint32(tiff[4:]))
	if off < 8 || off+2 > len(tiff) {
		return 0, false
	}
	count := int(bo.Uint16(tiff[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(tiff) {
			return 0, false
		}
		if bo.Uint16(tiff[e:]) != tag {
			continue
		}
		switch bo.Uint16(tiff[e+2:]) {
		case 3: // SHORT
			return int(bo.Uint16(tiff[e+8:])), true
		case 4: // LONG
			return int(bo.Uint32(tiff[e+8:])), true
		}
		return 0, false
	}
	return 0, false
}

// tolerable reports whether a libjpeg warning leaves every pixel intact:
// stray bytes between the last scan and the end-of-image marker, which
// libjpeg skips after the picture is complete.
func tolerable(warning string) bool {
	return strings.Contains(warning, "extraneous bytes before marker 0xd9")
}
