package tag

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
)

// Thresholds of Read, on the 0–255 luminance scale.
const (
	minContrast = 64 // finder's mean white minus mean black
	marginDiv   = 4  // every cell must lie contrast/marginDiv away from the midpoint
)

func readCode(img image.Image) (Tag, bool) {
	a := area(img.Bounds())
	if a.Dx() < 2*Grid {
		return Tag{}, false
	}
	var lum [Grid][Grid]float64
	for r := range Grid {
		for c := range Grid {
			lum[r][c] = meanLuma(img, inner(cell(a, r, c)))
		}
	}
	mid, margin, ok := calibrate(&lum)
	if !ok {
		return Tag{}, false
	}
	var bits [Grid][Grid]bool
	for r := range Grid {
		for c := range Grid {
			d := lum[r][c] - mid
			if d > -margin && d < margin {
				return Tag{}, false
			}
			bits[r][c] = d < 0
		}
	}
	return decode(&bits)
}

// calibrate derives the black/white midpoint from the finder cells.
func calibrate(lum *[Grid][Grid]float64) (mid, margin float64, ok bool) {
	var sumB, sumW float64
	var nB, nW int
	for i, p := range perimeter {
		if finder[i] == '1' {
			sumB += lum[p[0]][p[1]]
			nB++
		} else {
			sumW += lum[p[0]][p[1]]
			nW++
		}
	}
	b, w := sumB/float64(nB), sumW/float64(nW)
	if w-b < minContrast {
		return 0, 0, false
	}
	return (b + w) / 2, (w - b) / marginDiv, true
}

// decode checks the finder and the CRC and unpacks the payload.
func decode(bits *[Grid][Grid]bool) (Tag, bool) {
	for i, p := range perimeter {
		if bits[p[0]][p[1]] != (finder[i] == '1') {
			return Tag{}, false
		}
	}
	var v uint64
	for i := range dataBits {
		v <<= 1
		if bits[1+i/(Grid-2)][1+i%(Grid-2)] {
			v |= 1
		}
	}
	v ^= whitening
	word := uint32(v >> crcBits)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], word)
	if uint64(crc32.ChecksumIEEE(b[:]))&(1<<crcBits-1) != v&(1<<crcBits-1) {
		return Tag{}, false
	}
	t := Tag{Kind: Kind(word >> 24), Person: int(word & (1<<24 - 1))}
	if t.Kind == 0 {
		return Tag{}, false
	}
	return t, true
}

// inner is the middle half of a cell, away from edges blurred by resampling
// and JPEG ringing.
func inner(r image.Rectangle) image.Rectangle {
	dx, dy := r.Dx()/4, r.Dy()/4
	return image.Rect(r.Min.X+dx, r.Min.Y+dy, r.Max.X-dx, r.Max.Y-dy)
}

// meanLuma averages the luminance (0–255) of r.
func meanLuma(img image.Image, r image.Rectangle) float64 {
	if r.Empty() {
		return 0
	}
	var sum uint64
	switch m := img.(type) {
	case *image.YCbCr:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				sum += uint64(m.Y[m.YOffset(x, y)])
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				sum += uint64(m.Pix[m.PixOffset(x, y)])
			}
		}
	default:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				sum += uint64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
		}
	}
	return float64(sum) / float64(r.Dx()*r.Dy())
}
