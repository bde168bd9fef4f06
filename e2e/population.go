package e2e

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth"
)

// Options says what population Build makes. Zero values take defaults.
type Options struct {
	Seed    int64  // default 1
	Records int    // rows with images or text only, cycling through the kinds below; default 27
	Videos  int    // video rows (alternating name_video and card_video); default 2, negative for none
	Plain   bool   // leave out the bad manifest row and the bad-media record (benchmarks)
	FFmpeg  string // ffmpeg binary for videos; default "ffmpeg"
	// Shapes keeps only the image and text rows of these shapes (nil: every
	// kind); e.g. {ShapeName} for a two-factor (name + id number) batch.
	Shapes []pipeline.Shape
}

// kinds returns the kinds of rows opts asks for, in their cycle's order.
func (opts Options) kinds() ([]kind, error) {
	if len(opts.Shapes) == 0 {
		return kinds, nil
	}
	var out []kind
	for _, k := range kinds {
		if slices.Contains(opts.Shapes, k.shape) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("build population: no image or text rows of shapes %v", opts.Shapes)
	}
	return out, nil
}

// Expect is the outcome a record must end with.
type Expect struct {
	Status pipeline.Status
	Code   int    // verification_code, when Status is done
	Result string // valid, invalid or nonexistent, when Status is done
	Reject string // prefix of the stored reason code, when Status is rejected ("media.")
}

// Row is one manifest row; media fields are object keys (see Objects), not references.
type Row struct {
	Ref, Name, IDNumber                string
	Shape                              pipeline.Shape
	IDCard1, IDCard2, FaceImage, Video string
	Actions                            string
	Expect                             Expect
}

// Population is a registry for the simulator, the manifest rows and the media
// they reference.
type Population struct {
	Registry *synth.Registry
	Rows     []Row
	// BadRefs are refs of manifest rows the validator must refuse (never stored).
	BadRefs []string
	// Objects maps object keys ("media/p0003-face.jpg") to their bytes.
	Objects map[string][]byte
	people  []synth.Person
	ffmpeg  string
}

// Build generates a deterministic population for opts.
func Build(ctx context.Context, opts Options) (*Population, error) {
	seed := cmp.Or(opts.Seed, 1)
	kinds, err := opts.kinds()
	if err != nil {
		return nil, err
	}
	records := cmp.Or(opts.Records, 27)
	videos := cmp.Or(opts.Videos, 2)
	if videos < 0 {
		videos = 0
	}
	n := personOf(records+videos+1) + 1
	people := synth.GeneratePeople(seed, n)
	if len(people) < n {
		return nil, fmt.Errorf("build population: synth gave %d people, want %d", len(people), n)
	}
	p := &Population{Objects: map[string][]byte{}, people: people, ffmpeg: cmp.Or(opts.FFmpeg, "ffmpeg")}
	for i := range records {
		k := kinds[i%len(kinds)]
		if k.nonexistent {
			p.people[personOf(i)].Record = synth.RecordNonexistent
		}
	}
	p.Registry = synth.NewRegistry(p.people)
	for i := range records {
		row, err := p.row(i, kinds[i%len(kinds)])
		if err != nil {
			return nil, err
		}
		p.Rows = append(p.Rows, row)
	}
	for v := range videos {
		row, err := p.videoRow(ctx, records+v, v%2 == 1)
		if err != nil {
			return nil, err
		}
		p.Rows = append(p.Rows, row)
	}
	if !opts.Plain {
		p.Rows = append(p.Rows, p.badMediaRow(records+videos))
		p.BadRefs = []string{"bad-id-number"}
	}
	return p, nil
}

// personOf maps a row slot to the person it is about, skipping every index
// ending in 9: the simulator fails large face crops of those people with
// IVS.0009 ("0 faces"), which is an input error and not what these rows test.
func personOf(slot int) int { return slot + slot/9 }

// Expected returns the expected outcome of each row, by ref.
func (p *Population) Expected() map[string]Expect {
	m := make(map[string]Expect, len(p.Rows))
	for _, r := range p.Rows {
		m[r.Ref] = r.Expect
	}
	return m
}
