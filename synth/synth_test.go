package synth_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

func TestGeneratePeopleValidAndDistinct(t *testing.T) {
	people := synth.GeneratePeople(7, 3000)
	if len(people) != 3000 {
		t.Fatalf("got %d people", len(people))
	}
	seen := map[string]bool{}
	for i, p := range people {
		if p.Index != i {
			t.Fatalf("person %d has index %d", i, p.Index)
		}
		id, err := identity.NormalizeIDNumber(p.IDNumber)
		if err != nil || id != p.IDNumber {
			t.Fatalf("person %d: id number invalid: %v", i, err)
		}
		if _, err := identity.NormalizeName(p.Name); err != nil {
			t.Fatalf("person %d: name invalid: %v", i, err)
		}
		if seen[p.IDNumber] {
			t.Fatalf("person %d: duplicate id number", i)
		}
		seen[p.IDNumber] = true
	}
	again := synth.GeneratePeople(7, 3000)
	if again[1234] != people[1234] {
		t.Fatal("GeneratePeople is not deterministic")
	}
}

func TestImagesCarryTheirTag(t *testing.T) {
	p := synth.GeneratePeople(1, 5)[4]
	for _, c := range []struct {
		name string
		make func() ([]byte, error)
		want tag.Kind
	}{
		{"face", func() ([]byte, error) { return synth.FaceJPEG(p, synth.ImageOptions{}) }, tag.KindFace},
		{"front", func() ([]byte, error) { return synth.IDCardJPEG(p, synth.Front, synth.ImageOptions{}) }, tag.KindIDCardFront},
		{"back", func() ([]byte, error) { return synth.IDCardJPEG(p, synth.Back, synth.ImageOptions{}) }, tag.KindIDCardBack},
	} {
		b, err := c.make()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		got, ok := tag.Read(img)
		if !ok || got.Kind != c.want || got.Person != 4 {
			t.Fatalf("%s: tag = %+v, %v; want kind %v person 4", c.name, got, ok, c.want)
		}
	}
}

func TestVideoCarriesComment(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not installed (scripts/deps.sh installs it)")
	}
	p := synth.GeneratePeople(1, 3)[2]
	data, err := synth.Video(context.Background(), &p, []int{1, 3}, synth.VideoOptions{Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "default=nw=1:nk=1", "-")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	person, actions, ok := tag.ParseVideoComment(strings.TrimSpace(string(out)))
	if !ok || person != 2 || len(actions) != 2 || actions[0] != 1 || actions[1] != 3 {
		t.Fatalf("comment %q parsed as %d %v %v", out, person, actions, ok)
	}
}
