//go:build cgo && !purego

package media

/*
#cgo LDFLAGS: -lheif
#include <stdlib.h>
#include <string.h>
#include <libheif/heif.h>

// heif_decode_rgb decodes the primary picture of a HEIF/AVIF file held in
// memory to interleaved RGB, rotated and mirrored as the file says (irot,
// imir). On success *img must be released with heif_image_release and
// *exif (may be NULL) with free.
static struct heif_error heif_decode_rgb(const void *data, size_t size, long long max_pixels,
		struct heif_image **img, int *w, int *h, unsigned char **exif, size_t *exif_size, char *msg, size_t msgn) {
	struct heif_error err;
	struct heif_context *ctx = heif_context_alloc();
	struct heif_image_handle *handle = NULL;
	*img = NULL;
	*exif = NULL;
	*exif_size = 0;
	err = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
	if (err.code != heif_error_Ok) goto done;
	err = heif_context_get_primary_image_handle(ctx, &handle);
	if (err.code != heif_error_Ok) goto done;
	*w = heif_image_handle_get_width(handle);
	*h = heif_image_handle_get_height(handle);
	if ((long long)*w * (long long)*h > max_pixels) {
		err.code = heif_error_Memory_allocation_error;
		err.subcode = heif_suberror_Security_limit_exceeded;
		err.message = "picture over the pixel budget";
		goto done;
	}
	heif_item_id id;
	if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) == 1) {
		size_t n = heif_image_handle_get_metadata_size(handle, id);
		if (n > 0 && n < (1 << 20)) {
			*exif = malloc(n);
			if (*exif && heif_image_handle_get_metadata(handle, id, *exif).code == heif_error_Ok) {
				*exif_size = n;
			}
		}
	}
	err = heif_decode_image(handle, img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
done:
	if (err.message) {
		strncpy(msg, err.message, msgn - 1); // copied before ctx, which may own it, is freed
		msg[msgn - 1] = 0;
	}
	if (handle) heif_image_handle_release(handle);
	heif_context_free(ctx);
	return err;
}
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"unsafe"
)

func init() { decodeHEIF = heifDecode }

// heifDecode decodes the primary picture of a HEIC/HEIF or AVIF file with
// libheif, which applies the file's rotation and mirroring (irot, imir). A
// file without those that carries an EXIF orientation gets it back as o
// (heif-enc keeps a JPEG's EXIF orientation that way); otherwise o is 1.
// Pictures over maxPixels, or whose RGB would exceed the decode budget, are
// refused before decoding.
func heifDecode(data []byte, maxPixels int) (img image.Image, o int, err error) {
	if len(data) == 0 {
		return nil, 0, reject(CodeCorruptImage, "empty HEIF file")
	}
	limit := min(maxPixels, maxDecodeBytes/4) // libheif's planes and its RGB copy
	var out *C.struct_heif_image
	var w, h C.int
	var exif *C.uchar
	var exifSize C.size_t
	var msgBuf [200]C.char
	herr := C.heif_decode_rgb(unsafe.Pointer(&data[0]), C.size_t(len(data)), C.longlong(limit), &out, &w, &h, &exif, &exifSize,
		&msgBuf[0], C.size_t(len(msgBuf)))
	msg := C.GoString(&msgBuf[0])
	if exif != nil {
		defer C.free(unsafe.Pointer(exif))
	}
	if out != nil {
		defer C.heif_image_release(out)
	}
	switch {
	case herr.subcode == C.heif_suberror_Security_limit_exceeded:
		return nil, 0, reject(CodeCannotFit, fmt.Sprintf("HEIF picture is %d×%d, over the %d MP decode budget", int(w), int(h), limit/1_000_000))
	case herr.code == C.heif_error_Unsupported_feature:
		return nil, 0, reject(CodeUnsupportedFormat, "HEIF variant not supported: "+msg)
	case herr.code != C.heif_error_Ok || out == nil:
		return nil, 0, reject(CodeCorruptImage, "HEIF does not decode: "+msg)
	}
	var stride C.int
	plane := C.heif_image_get_plane_readonly(out, C.heif_channel_interleaved, &stride)
	iw := int(C.heif_image_get_width(out, C.heif_channel_interleaved))
	ih := int(C.heif_image_get_height(out, C.heif_channel_interleaved))
	if plane == nil || iw <= 0 || ih <= 0 {
		return nil, 0, reject(CodeCorruptImage, "HEIF decodes to no pixels")
	}
	src := unsafe.Slice((*byte)(unsafe.Pointer(plane)), int(stride)*ih)
	rgba := image.NewRGBA(image.Rect(0, 0, iw, ih))
	for y := 0; y < ih; y++ {
		s, d := src[y*int(stride):], rgba.Pix[y*rgba.Stride:]
		for x := 0; x < iw; x++ {
			d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = s[3*x], s[3*x+1], s[3*x+2], 0xFF
		}
	}
	o = 1
	if exif != nil && exifSize > 0 && !heifTransformed(data) {
		o = max(1, heifEXIFOrientation(C.GoBytes(unsafe.Pointer(exif), C.int(exifSize))))
	}
	return rgba, o, nil
}

// heifTransformed reports whether the file's item properties rotate or
// mirror the picture (irot, imir boxes), which libheif has applied: an
// EXIF orientation must then not be applied again.
func heifTransformed(data []byte) bool {
	head := data[:min(len(data), 64<<10)]
	return bytes.Contains(head, []byte("irot")) || bytes.Contains(head, []byte("imir"))
}

// heifEXIFOrientation reads the orientation of a HEIF Exif item: a 4-byte
// offset to the TIFF header, then the TIFF structure.
func heifEXIFOrientation(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	off := 4 + int(binary.BigEndian.Uint32(b))
	if off < 4 || off > len(b) {
		return 0
	}
	b = b[off:]
	b = bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
	return exifOrientation(b)
}
