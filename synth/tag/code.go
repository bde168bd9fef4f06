package tag

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
)

// Layout of the code. The code is a square of Grid×Grid cells, Frac of the
// image's short side wide, centred in the image. The 32 perimeter cells carry
// the fixed finder pattern; the 7×7 interior carries 49 data bits, row by row
// from the top left: kind (3 bits, MSB first), person (24 bits), then the low
// 22 bits of CRC-32/IEEE over the 4 big-endian bytes kind<<24|person. Data
// bits are XORed with whitening before painting. A set bit is a black cell.
const (
	Grid     = 9
	Frac     = 0.55
	dataBits = (Grid - 2) * (Grid - 2)
	crcBits  = dataBits - 27
)

// finder is the perimeter pattern, clockwise from the top-left corner: top
// row left to right, right column downwards, bottom row right to left, left
// column upwards. Under each of the 7 other rotations and mirror images it
// differs in at least 16 of its 32 cells, so an unapplied EXIF orientation
// never reads.
const finder = "00111111001100001110100101100001"

// whitening is XORed into the 49 data bits so that no payload paints a
// uniform interior.
const whitening uint64 = 0x1_5A3C_96E1_4B2D

// perimeter lists the perimeter cells (row, col) in finder order.
var perimeter = func() [][2]int {
	var p [][2]int
	for c := 0; c < Grid; c++ {
		p = append(p, [2]int{0, c})
	}
	for r := 1; r < Grid; r++ {
		p = append(p, [2]int{r, Grid - 1})
	}
	for c := Grid - 2; c >= 0; c-- {
		p = append(p, [2]int{Grid - 1, c})
	}
	for r := Grid - 2; r > 0; r-- {
		p = append(p, [2]int{r, 0})
	}
	return p
}()

// area returns the code's square in b.
func area(b image.Rectangle) image.Rectangle {
	side := int(Frac * float64(min(b.Dx(), b.Dy())))
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	return image.Rect(x0, y0, x0+side, y0+side)
}

// cell returns cell (r, c) of the code square a.
func cell(a image.Rectangle, r, c int) image.Rectangle {
	s := a.Dx()
	return image.Rect(a.Min.X+c*s/Grid, a.Min.Y+r*s/Grid, a.Min.X+(c+1)*s/Grid, a.Min.Y+(r+1)*s/Grid)
}

// cells returns the Grid×Grid bit matrix (true = black) for t.
func cells(t Tag) [Grid][Grid]bool {
	var m [Grid][Grid]bool
	for i, p := range perimeter {
		m[p[0]][p[1]] = finder[i] == '1'
	}
	bits := payload(t) ^ whitening
	for i := range dataBits {
		m[1+i/(Grid-2)][1+i%(Grid-2)] = bits>>(dataBits-1-i)&1 == 1
	}
	return m
}

// payload packs t and its CRC into the low 49 bits, kind first.
func payload(t Tag) uint64 {
	v := uint32(t.Kind)<<24 | uint32(t.Person)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	crc := uint64(crc32.ChecksumIEEE(b[:])) & (1<<crcBits - 1)
	return uint64(v)<<crcBits | crc
}

func drawCode(img draw.Image, t Tag) {
	if t.Kind == 0 || t.Kind > 7 || t.Person < 0 || t.Person >= 1<<24 {
		panic(fmt.Sprintf("tag: cannot encode kind %d person %d", t.Kind, t.Person))
	}
	a := area(img.Bounds())
	if a.Dx() < Grid {
		panic(fmt.Sprintf("tag: image %v too small for a code", img.Bounds()))
	}
	m := cells(t)
	black, white := image.NewUniform(color.Gray{0}), image.NewUniform(color.Gray{255})
	for r := range Grid {
		for c := range Grid {
			src := white
			if m[r][c] {
				src = black
			}
			draw.Draw(img, cell(a, r, c), src, image.Point{}, draw.Src)
		}
	}
}
