package ivssim

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// Image limits: base64 length and pixels per side.
const (
	minImageB64  = 10 << 10
	maxImageB64  = 4 << 20
	minSide      = 300
	maxSide      = 4000
	cropB64Limit = 90 << 10 // above it, crop=true takes the crop path
)

// decodeImage checks a base64 JPEG and decodes it; errors carry code
// (IVS.0006 for faces, IVS.0007 for cards) except sizes (IVS.0004).
func decodeImage(b64, code string) (image.Image, *apiError) {
	if len(b64) < minImageB64 || len(b64) > maxImageB64 {
		return nil, fail(CodeImageSize, "")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fail(code, "image base64 cannot be decoded")
	}
	if !bytes.HasPrefix(raw, []byte{0xFF, 0xD8, 0xFF}) {
		return nil, fail(code, "the image is not a JPG")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fail(code, "the image is not a JPG")
	}
	if cfg.Width < minSide || cfg.Height < minSide || cfg.Width > maxSide || cfg.Height > maxSide {
		return nil, fail(code, "each side of the image must be 300-4000 px")
	}
	img, err := jpeg.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fail(code, "the image cannot be decoded")
	}
	return img, nil
}

// faceTag decodes a face image and returns its tag; found is false when
// it carries none.
func faceTag(b64 string) (t tag.Tag, found bool, e *apiError) {
	img, e := decodeImage(b64, CodeFaceImage)
	if e != nil {
		return tag.Tag{}, false, e
	}
	t, found = tag.Read(img)
	return t, found, nil
}

// readCards reads one or two card sides and returns the card's person.
func (s *Server) readCards(card1, card2 string) (synth.Person, *apiError) {
	person, front := -1, false
	for _, b64 := range []string{card1, card2} {
		if b64 == "" {
			continue
		}
		img, e := decodeImage(b64, CodeIDCardImage)
		if e != nil {
			return synth.Person{}, e
		}
		if b := img.Bounds(); b.Dx() < b.Dy() {
			return synth.Person{}, fail(CodeIDCardImage, "the id card must be horizontal")
		}
		t, ok := tag.Read(img)
		if !ok || (t.Kind != tag.KindIDCardFront && t.Kind != tag.KindIDCardBack) {
			return synth.Person{}, fail(CodeIDCardImage, "no id card found in the image")
		}
		if person >= 0 && t.Person != person {
			return synth.Person{}, fail(CodeIDCardImage, "the two images show different cards")
		}
		person, front = t.Person, front || t.Kind == tag.KindIDCardFront
	}
	if !front {
		return synth.Person{}, fail(CodeIDCardImage, "the portrait side of the card was not found")
	}
	p, ok := s.cfg.Registry.ByIndex(person)
	if !ok {
		return synth.Person{}, fail(CodeIDCardImage, "the card text cannot be recognised")
	}
	return p, nil
}

func idcardResult(p synth.Person) *ivs.IDCardResult {
	return &ivs.IDCardResult{
		Name: p.Name, Number: p.IDNumber, Sex: p.Sex, Birth: p.Birth, Ethnicity: p.Ethnicity,
		Address: p.Address, Issue: p.Issue, ValidFrom: p.ValidFrom, ValidTo: p.ValidTo,
	}
}
