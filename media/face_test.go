package media

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// TestFaceShrinksBeforeQuality checks that a face too detailed for 88 KB at
// 1024 px is made smaller, not compressed below quality 75.
func TestFaceShrinksBeforeQuality(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "cjpeg")
	dir := t.TempDir()
	src := filepath.Join(dir, "grain.ppm")
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
		"testsrc2=size=2400x1800,noise=alls=60:allf=u:all_seed=3", "-frames:v", "1", "-y", src)
	out := filepath.Join(dir, "grain.jpg")
	run(t, "cjpeg", "-quality", "95", "-outfile", out, src)
	data := readFile(t, out)
	got, err := New(Config{}).Prepare(context.Background(), pipeline.MediaFaceImage, data)
	if err != nil {
		t.Fatal(err)
	}
	img := checkImage(t, pipeline.MediaFaceImage, got.Data)
	m := regexp.MustCompile(`\(q(\d+)\)`).FindStringSubmatch(got.Note)
	if m == nil {
		t.Fatalf("note %q names no quality", got.Note)
	}
	q, _ := strconv.Atoi(m[1])
	b := img.Bounds()
	if q < minQuality || b.Dx() >= 1024 || min(b.Dx(), b.Dy()) < MinSide {
		t.Errorf("face %d×%d at q%d, want shrunk under 1024 px at quality ≥ %d (%s)", b.Dx(), b.Dy(), q, minQuality, got.Note)
	}
	t.Log(got.Note)
}

// readFile returns a file's bytes or fails the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
