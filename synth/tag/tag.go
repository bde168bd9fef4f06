// Package tag paints into an image's pixels whom the image shows, so that the
// IVS simulator can recognise a synthetic face or id card after the pipeline
// has resized, recompressed or converted it.
package tag

import (
	"image"
	"image/draw"
)

// Kind says what a tagged picture shows.
type Kind uint8

// Kinds of tagged pictures. Zero is never written, so a blank image cannot
// decode as a valid tag.
const (
	KindFace        Kind = 1
	KindIDCardFront Kind = 2
	KindIDCardBack  Kind = 3
)

// Tag identifies a picture: what it shows and of whom (synth.Person.Index).
type Tag struct {
	Kind   Kind
	Person int
}

// Draw paints t into the centre of img.
func Draw(img draw.Image, t Tag) { drawCode(img, t) }

// Read decodes the tag painted by Draw. It reports false when there is no
// code, the code is damaged, or the image is rotated or mirrored.
func Read(img image.Image) (Tag, bool) { return readCode(img) }
