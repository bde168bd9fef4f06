package e2e

import (
	"context"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Options.Shapes keeps only rows of those shapes (bench/e2e -shapes
// two-factor), still cycling through their verdicts; a shape with no image or
// text rows is refused.
func TestBuildKeepsOnlyTheShapesAsked(t *testing.T) {
	p, err := Build(context.Background(), Options{Records: 9, Videos: -1, Plain: true, Shapes: []pipeline.Shape{pipeline.ShapeName}})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	for _, r := range p.Rows {
		if r.Shape != pipeline.ShapeName || r.Name == "" || r.IDNumber == "" || r.FaceImage != "" || r.IDCard1 != "" {
			t.Fatalf("row %s: shape %s with media %q %q; want a two-factor row", r.Ref, r.Shape, r.FaceImage, r.IDCard1)
		}
		codes[r.Expect.Code]++
	}
	if len(p.Rows) != 9 || len(p.Objects) != 0 || codes[1000] == 0 || codes[2001] == 0 || codes[3001] == 0 {
		t.Fatalf("%d rows, %d media objects, verdicts %v; want 9 two-factor rows, no media, 1000, 2001 and 3001", len(p.Rows),
			len(p.Objects), codes)
	}
	if _, err := Build(context.Background(), Options{Records: 3, Videos: -1, Shapes: []pipeline.Shape{pipeline.ShapeNameVideo}}); err == nil {
		t.Fatal("video shapes only, no videos: built anyway")
	}
}
