package e2e

import (
	"context"
	"fmt"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth"
)

// kind is one pattern of record: a shape and what is wrong with it.
type kind struct {
	label       string
	shape       pipeline.Shape
	wrongName   bool // someone else's name with this id → 2001
	wrongFace   bool // someone else's face → 2002
	nonexistent bool // the authority does not know the person → 3001
	back        bool // send the card's back side as idcard_image2
}

// kinds cycle over the non-video rows; every verdict of the issue appears in
// each cycle of nine.
var kinds = []kind{
	{label: "match", shape: pipeline.ShapeNameFaceImage},
	{label: "wrongname", shape: pipeline.ShapeNameFaceImage, wrongName: true},
	{label: "wrongface", shape: pipeline.ShapeNameFaceImage, wrongFace: true},
	{label: "nonexistent", shape: pipeline.ShapeName, nonexistent: true},
	{label: "match", shape: pipeline.ShapeCardFaceImage, back: true},
	{label: "wrongface", shape: pipeline.ShapeCardFaceImage, wrongFace: true},
	{label: "match", shape: pipeline.ShapeName},
	{label: "match", shape: pipeline.ShapeCard, back: true},
	{label: "wrongname", shape: pipeline.ShapeName, wrongName: true},
}

func (k kind) expect() Expect {
	switch {
	case k.nonexistent:
		return Expect{Status: pipeline.StatusReview, Code: 3001, Result: "nonexistent"}
	case k.wrongName:
		return Expect{Status: pipeline.StatusDone, Code: 2001, Result: "invalid"}
	case k.wrongFace:
		return Expect{Status: pipeline.StatusDone, Code: 2002, Result: "invalid"}
	}
	return Expect{Status: pipeline.StatusDone, Code: 1000, Result: "valid"}
}

func (p *Population) row(i int, k kind) (Row, error) {
	pi := personOf(i)
	person, other := p.people[pi], p.people[personOf(i+1)]
	row := Row{Ref: fmt.Sprintf("r%04d-%s-%s", i, k.shape, k.label), Shape: k.shape, Expect: k.expect()}
	if k.shape.UsesText() {
		row.Name, row.IDNumber = person.Name, person.IDNumber
		if k.wrongName {
			row.Name = p.otherName(person)
		}
	}
	var err error
	if k.shape.UsesCard() {
		if row.IDCard1, err = p.card(pi, synth.Front); err != nil {
			return Row{}, err
		}
		if k.back {
			if row.IDCard2, err = p.card(pi, synth.Back); err != nil {
				return Row{}, err
			}
		}
	}
	if k.shape.UsesFaceImage() {
		face := pi
		if k.wrongFace {
			face = other.Index
		}
		if row.FaceImage, err = p.face(face); err != nil {
			return Row{}, err
		}
	}
	return row, nil
}

func (p *Population) videoRow(ctx context.Context, i int, card bool) (Row, error) {
	pi := personOf(i)
	person := p.people[pi]
	actions := []int{1, 2}
	row := Row{Shape: pipeline.ShapeNameVideo, Actions: "1,2", Expect: kind{}.expect()}
	if card {
		row.Shape = pipeline.ShapeCardVideo
		key, err := p.card(pi, synth.Front)
		if err != nil {
			return Row{}, err
		}
		row.IDCard1 = key
	} else {
		row.Name, row.IDNumber = person.Name, person.IDNumber
	}
	row.Ref = fmt.Sprintf("r%04d-%s-match", i, row.Shape)
	data, err := synth.Video(ctx, &person, actions, synth.VideoOptions{FFmpeg: p.ffmpeg, Width: 320, Height: 240})
	if err != nil {
		return Row{}, fmt.Errorf("video of person %d: %w", pi, err)
	}
	row.Video = fmt.Sprintf("media/p%04d-video.mp4", pi)
	p.Objects[row.Video] = data
	return row, nil
}

// badMediaRow is a well-formed row whose face image is not an image: the
// worker must reject it before any call.
func (p *Population) badMediaRow(i int) Row {
	person := p.people[personOf(i)]
	key := fmt.Sprintf("media/p%04d-face-broken.jpg", person.Index)
	p.Objects[key] = []byte("this is not a JPEG file, just text pretending to be one\n")
	return Row{
		Ref: fmt.Sprintf("r%04d-%s-badmedia", i, pipeline.ShapeNameFaceImage), Shape: pipeline.ShapeNameFaceImage,
		Name: person.Name, IDNumber: person.IDNumber, FaceImage: key,
		Expect: Expect{Status: pipeline.StatusRejected, Reject: "media."},
	}
}

// face stores the face picture of person index i and returns its key.
func (p *Population) face(i int) (string, error) {
	key := fmt.Sprintf("media/p%04d-face.jpg", i)
	if _, ok := p.Objects[key]; ok {
		return key, nil
	}
	data, err := synth.FaceJPEG(p.people[i], synth.ImageOptions{})
	if err != nil {
		return "", fmt.Errorf("face of person %d: %w", i, err)
	}
	p.Objects[key] = data
	return key, nil
}

// card stores one side of person index i's id card and returns its key.
func (p *Population) card(i int, side synth.Side) (string, error) {
	name := map[synth.Side]string{synth.Front: "front", synth.Back: "back"}[side]
	key := fmt.Sprintf("media/p%04d-card-%s.jpg", i, name)
	if _, ok := p.Objects[key]; ok {
		return key, nil
	}
	data, err := synth.IDCardJPEG(p.people[i], side, synth.ImageOptions{})
	if err != nil {
		return "", fmt.Errorf("id card of person %d: %w", i, err)
	}
	p.Objects[key] = data
	return key, nil
}

// otherName is a name that is not person's (generated names can repeat).
func (p *Population) otherName(person synth.Person) string {
	for j := 1; j < len(p.people); j++ {
		if n := p.people[(person.Index+j)%len(p.people)].Name; n != person.Name {
			return n
		}
	}
	return person.Name + "某"
}
