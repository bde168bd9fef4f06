package media

import (
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// toRGBA resamples src to an opaque w×h RGBA image. Large reductions first
// average k×k blocks (fast, alias-free), then a bilinear pass makes the
// exact size (x/image/draw's kernel scalers would allocate a float64 buffer
// of 32 bytes a pixel). Transparent pixels are laid over white.
func toRGBA(src image.Image, w, h int) *image.RGBA {
	sb := src.Bounds()
	k := min(sb.Dx()/w, sb.Dy()/h)
	if yc, ok := src.(*image.YCbCr); ok && k >= 2 && sb.Min == (image.Point{}) {
		src = shrinkYCbCr(yc, k)
	} else if k >= 2 {
		src = shrinkAny(src, k)
	} else if !isOpaqueFast(src) {
		src = flatten(src)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if src.Bounds().Size() == dst.Bounds().Size() {
		draw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, draw.Src)
	} else {
		xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	}
	return dst
}

// isOpaqueFast reports whether src is of a type that can never be
// transparent and converts to RGB correctly through the draw packages.
func isOpaqueFast(src image.Image) bool {
	switch src.(type) {
	case *image.YCbCr, *image.Gray, *image.RGBA:
		return true
	}
	return false
}

// flatten converts any image to an opaque RGBA of the same size, laying
// transparency over white and converting CMYK to RGB.
func flatten(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	flattenInto(dst, src, b)
	return dst
}

// flattenInto is flatten of the part b of src into dst (at the origin, the
// size of b).
func flattenInto(dst *image.RGBA, src image.Image, b image.Rectangle) {
	switch s := src.(type) {
	case *image.CMYK:
		for y := 0; y < b.Dy(); y++ {
			si := s.PixOffset(b.Min.X, b.Min.Y+y)
			di := y * dst.Stride
			for x := 0; x < b.Dx(); x++ {
				r, g, bl := color.CMYKToRGB(s.Pix[si], s.Pix[si+1], s.Pix[si+2], s.Pix[si+3])
				dst.Pix[di], dst.Pix[di+1], dst.Pix[di+2], dst.Pix[di+3] = r, g, bl, 0xFF
				si += 4
				di += 4
			}
		}
	case *image.YCbCr, *image.Gray, *image.RGBA:
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	default:
		draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Over)
	}
}

// shrinkAny averages k×k blocks of any image into an opaque RGBA, k source
// rows at a time: no full-size copy of src is made.
func shrinkAny(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	dw, dh := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	band := image.NewRGBA(image.Rect(0, 0, b.Dx(), k))
	for dy := 0; dy < dh; dy++ {
		y0 := b.Min.Y + dy*k
		flattenInto(band, src, image.Rect(b.Min.X, y0, b.Max.X, y0+k))
		shrinkPlane(dst.Pix[dy*dst.Stride:], dst.Stride, dw, 1, band.Pix, band.Stride, b.Dx(), k, k, 4)
	}
	return dst
}

// shrinkYCbCr averages k×k blocks of every plane of src (Rect.Min at the
// origin), keeping its chroma subsampling.
func shrinkYCbCr(src *image.YCbCr, k int) *image.YCbCr {
	b := src.Bounds()
	dst := image.NewYCbCr(image.Rect(0, 0, b.Dx()/k, b.Dy()/k), src.SubsampleRatio)
	cw, ch := chromaSize(b, src.SubsampleRatio)
	dcw, dch := chromaSize(dst.Rect, src.SubsampleRatio)
	shrinkPlane(dst.Y, dst.YStride, dst.Rect.Dx(), dst.Rect.Dy(), src.Y, src.YStride, b.Dx(), b.Dy(), k, 1)
	shrinkPlane(dst.Cb, dst.CStride, dcw, dch, src.Cb, src.CStride, cw, ch, k, 1)
	shrinkPlane(dst.Cr, dst.CStride, dcw, dch, src.Cr, src.CStride, cw, ch, k, 1)
	return dst
}

// chromaSize is the size of the chroma planes of a YCbCr image with bounds r.
func chromaSize(r image.Rectangle, s image.YCbCrSubsampleRatio) (w, h int) {
	w, h = r.Dx(), r.Dy()
	switch s {
	case image.YCbCrSubsampleRatio422:
		w = (w + 1) / 2
	case image.YCbCrSubsampleRatio420:
		w, h = (w+1)/2, (h+1)/2
	case image.YCbCrSubsampleRatio440:
		h = (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		w = (w + 3) / 4
	case image.YCbCrSubsampleRatio410:
		w, h = (w+3)/4, (h+1)/2
	}
	return w, h
}

// shrinkPlane box-filters an interleaved 8-bit plane of c channels (sw×sh
// pixels) by k into dst (dw×dh pixels). Blocks running past the source edge
// repeat its last row or column.
func shrinkPlane(dst []byte, dstride, dw, dh int, src []byte, sstride, sw, sh, k, c int) {
	if dw <= 0 || dh <= 0 || sw <= 0 || sh <= 0 {
		return
	}
	n := uint32(k * k)
	sums := make([]uint32, dw*c)
	for dy := 0; dy < dh; dy++ {
		clear(sums)
		for i := 0; i < k; i++ {
			row := src[min(dy*k+i, sh-1)*sstride:]
			for dx := 0; dx < dw; dx++ {
				x0 := dx * k
				for ch := 0; ch < c; ch++ {
					var s uint32
					if x0+k <= sw {
						p := row[x0*c+ch:]
						for j := 0; j < k; j++ {
							s += uint32(p[j*c])
						}
					} else {
						for j := 0; j < k; j++ {
							s += uint32(row[min(x0+j, sw-1)*c+ch])
						}
					}
					sums[dx*c+ch] += s
				}
			}
		}
		out := dst[dy*dstride : dy*dstride+dw*c]
		for i := range out {
			out[i] = uint8((sums[i] + n/2) / n)
		}
	}
}

// orient returns src transformed by EXIF orientation o (1–8) so that it
// displays upright.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewRGBA(orientedRect(w, h, o))
	orientPlane(dst.Pix, dst.Stride, src.Pix, src.Stride, w, h, 4, o)
	return dst
}

// orientYCbCr is orient for a 4:4:4 or 4:2:0 YCbCr image at the origin.
// A 4:2:0 image is first cropped to even sides so chroma stays aligned.
func orientYCbCr(src *image.YCbCr, o int) *image.YCbCr {
	if o <= 1 || o > 8 {
		return src
	}
	if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		src = src.SubImage(image.Rect(0, 0, src.Rect.Dx()&^1, src.Rect.Dy()&^1)).(*image.YCbCr)
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewYCbCr(orientedRect(w, h, o), src.SubsampleRatio)
	cw, ch := chromaSize(src.Rect, src.SubsampleRatio)
	orientPlane(dst.Y, dst.YStride, src.Y, src.YStride, w, h, 1, o)
	orientPlane(dst.Cb, dst.CStride, src.Cb, src.CStride, cw, ch, 1, o)
	orientPlane(dst.Cr, dst.CStride, src.Cr, src.CStride, cw, ch, 1, o)
	return dst
}

// orientedRect is the bounds of a w×h image after orientation o.
func orientedRect(w, h, o int) image.Rectangle {
	if o >= 5 {
		w, h = h, w
	}
	return image.Rect(0, 0, w, h)
}

// orientPlane copies a w×h plane of c-byte pixels from src to dst
// transformed by EXIF orientation o (2–8). Source pixel (x, y) lands at dst
// pixel index base + x·stepX + y·stepY.
func orientPlane(dst []byte, dstride int, src []byte, sstride, w, h, c, o int) {
	var base, stepX, stepY int
	switch o {
	case 2: // mirror horizontally
		base, stepX, stepY = (w-1)*c, -c, dstride
	case 3: // rotate 180°
		base, stepX, stepY = (h-1)*dstride+(w-1)*c, -c, -dstride
	case 4: // mirror vertically
		base, stepX, stepY = (h-1)*dstride, c, -dstride
	case 5: // transpose
		base, stepX, stepY = 0, dstride, c
	case 6: // rotate 90° clockwise
		base, stepX, stepY = (h-1)*c, dstride, -c
	case 7: // transverse
		base, stepX, stepY = (w-1)*dstride+(h-1)*c, -dstride, -c
	case 8: // rotate 90° counter-clockwise
		base, stepX, stepY = (w-1)*dstride, -dstride, c
	default:
		return
	}
	if c == 1 && o >= 5 {
		// Transposing orientations write down columns: work in tiles so
		// the destination lines stay in cache.
		const tile = 32
		for ty := 0; ty < h; ty += tile {
			for tx := 0; tx < w; tx += tile {
				for y := ty; y < min(ty+tile, h); y++ {
					row := src[y*sstride+tx : y*sstride+min(tx+tile, w)]
					d := base + y*stepY + tx*stepX
					for _, v := range row {
						dst[d] = v
						d += stepX
					}
				}
			}
		}
		return
	}
	for y := 0; y < h; y++ {
		row := src[y*sstride : y*sstride+w*c]
		d := base + y*stepY
		if c == 1 {
			for _, v := range row {
				dst[d] = v
				d += stepX
			}
			continue
		}
		for x := 0; x < len(row); x += c {
			copy(dst[d:d+c], row[x:x+c])
			d += stepX
		}
	}
}

// resample returns img scaled to uw×uh (stored orientation) and then
// oriented by o. A YCbCr image whose size divides down to exactly uw×uh is
// box-filtered and rotated in its own planes and stays YCbCr (the JPEG
// encoder's fast path); anything else goes through RGBA.
func resample(img image.Image, uw, uh, o int) image.Image {
	if yc, ok := img.(*image.YCbCr); ok && yc.Rect.Min == (image.Point{}) &&
		(yc.SubsampleRatio == image.YCbCrSubsampleRatio420 || yc.SubsampleRatio == image.YCbCrSubsampleRatio444) {
		if k := yc.Rect.Dx() / uw; k >= 1 && yc.Rect.Dx()/k == uw && yc.Rect.Dy()/k == uh {
			if k >= 2 {
				yc = shrinkYCbCr(yc, k)
			}
			return orientYCbCr(yc, o)
		}
	}
	return orient(toRGBA(img, uw, uh), o)
}

// invertedCMYKToRGBA converts, in place, CMYK pixels stored the Adobe way
// (255 = no ink, as Photoshop writes them and libjpeg returns them) to an
// opaque RGBA image sharing m's pixels.
func invertedCMYKToRGBA(m *image.CMYK) *image.RGBA {
	p := m.Pix
	for i := 0; i+3 < len(p); i += 4 {
		k := uint32(p[i+3])
		p[i] = uint8((uint32(p[i])*k + 127) / 255)
		p[i+1] = uint8((uint32(p[i+1])*k + 127) / 255)
		p[i+2] = uint8((uint32(p[i+2])*k + 127) / 255)
		p[i+3] = 0xFF
	}
	return &image.RGBA{Pix: p, Stride: m.Stride, Rect: m.Rect}
}
