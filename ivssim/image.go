package ivssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"image"
	"image/jpeg"
	"sync"

	"github.com/ivsbatch/ivsbatch/pipeline"
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

// imageRead is what the simulator reads off an image: its tag and whether
// it is horizontal.
type imageRead struct {
	tag        tag.Tag
	found      bool
	horizontal bool
	err        *apiError
}

// reads remembers what recent images showed, by their SHA-256: reading is a
// function of the bytes, and decoding the same face or card again for every
// call (a batch shows a few pictures many times) was most of the
// simulator's CPU in the scale benchmark. Bounded: emptied when full.
var reads = struct {
	sync.Mutex
	m map[[sha256.Size]byte]imageRead
}{m: map[[sha256.Size]byte]imageRead{}}

const maxReads = 1024

// readImage decodes a base64 JPEG (errors carry code, see decodeImage) and
// reads its tag, once per distinct image and code.
func readImage(b64, code string) imageRead {
	key := sha256.Sum256([]byte(code + "\x00" + b64))
	reads.Lock()
	r, ok := reads.m[key]
	reads.Unlock()
	if ok {
		return r
	}
	img, e := decodeImage(b64, code)
	if e != nil {
		r = imageRead{err: e}
	} else {
		b := img.Bounds()
		r.horizontal = b.Dx() >= b.Dy()
		r.tag, r.found = tag.Read(img)
	}
	reads.Lock()
	if len(reads.m) >= maxReads {
		clear(reads.m)
	}
	reads.m[key] = r
	reads.Unlock()
	return r
}

// faceTag decodes a face image and returns its tag; found is false when
// it carries none.
func faceTag(b64 string) (t tag.Tag, found bool, e *apiError) {
	r := readImage(b64, CodeFaceImage)
	if r.err != nil {
		return tag.Tag{}, false, r.err
	}
	return r.tag, r.found, nil
}

// readCards reads one or two card sides and returns the card's person.
func (s *Server) readCards(card1, card2 string) (synth.Person, *apiError) {
	person, front := -1, false
	for _, b64 := range []string{card1, card2} {
		if b64 == "" {
			continue
		}
		r := readImage(b64, CodeIDCardImage)
		if r.err != nil {
			return synth.Person{}, r.err
		}
		if !r.horizontal {
			return synth.Person{}, fail(CodeIDCardImage, "the id card must be horizontal")
		}
		t, ok := r.tag, r.found
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

func idcardResult(p synth.Person) *pipeline.IDCardResult {
	return &pipeline.IDCardResult{
		Name: p.Name, Number: p.IDNumber, Sex: p.Sex, Birth: p.Birth, Ethnicity: p.Ethnicity,
		Address: p.Address, Issue: p.Issue, ValidFrom: p.ValidFrom, ValidTo: p.ValidTo,
	}
}
