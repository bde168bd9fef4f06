package ivssimtest

import (
	"context"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// Image is a test picture: size, JPEG quality, noise amplitude (0–255;
// more noise → larger files) and an optional tag.
type Image struct {
	W, H    int
	Quality int
	Noise   int
	Tag     *tag.Tag
}

// FaceJPEG is a 640×800 face picture of person, about 40 KB of base64 (under the 90 KB crop threshold).
func FaceJPEG(t testing.TB, person int) []byte {
	return JPEG(t, Image{W: 640, H: 800, Quality: 80, Noise: 8, Tag: &tag.Tag{Kind: tag.KindFace, Person: person}})
}

// CardJPEG is a 1000×630 id card side (tag.KindIDCardFront or Back) of person.
func CardJPEG(t testing.TB, kind tag.Kind, person int) []byte {
	return JPEG(t, Image{W: 1000, H: 630, Quality: 85, Noise: 24, Tag: &tag.Tag{Kind: kind, Person: person}})
}

// JPEG draws im with synth.Picture.
func JPEG(t testing.TB, im Image) []byte {
	t.Helper()
	b, err := synth.Picture(synth.ImageOptions{Width: im.W, Height: im.H, Quality: im.Quality, Noise: max(im.Noise, 1)}, im.Tag)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Video is an mp4 (h264) clip of dur seconds whose comment tag says it shows
// person performing actions; person < 0 leaves the tag out.
func Video(t testing.TB, person int, actions []int, dur time.Duration) []byte {
	return VideoAs(t, person, actions, dur, "mp4", "libx264")
}

// VideoAs is Video with another container (ffmpeg muxer) and encoder, at 320×240.
func VideoAs(t testing.TB, person int, actions []int, dur time.Duration, container, codec string) []byte {
	t.Helper()
	var p *synth.Person
	if person >= 0 {
		p = &synth.Person{Index: person}
	}
	data, err := synth.Video(context.Background(), p, actions, synth.VideoOptions{
		Duration: dur, Width: 320, Height: 240, Container: container, Codec: codec, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return data
}
