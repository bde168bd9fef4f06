package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cgoLibs maps each C library the shipped code links (#cgo LDFLAGS: -lNAME)
// to the Debian package the build needs and the one the image runs with.
var cgoLibs = map[string]struct{ dev, runtime string }{
	"turbojpeg": {"libturbojpeg0-dev", "libturbojpeg0"},
	"heif":      {"libheif-dev", "libheif1"},
}

// The image carries what the code needs: every C library the shipped
// packages link is installed in the Dockerfile's build stage (-dev) and
// runtime stage (the library), and by scripts/deps.sh for make test; ffmpeg
// and ffprobe (media, the simulator) are in the runtime stage. (make
// image-test checks the built image: every command's libraries resolve.)
func TestImagePackagesMatchTheCode(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	buildStage, runtimeStage, ok := strings.Cut(string(dockerfile), "FROM ${RUNTIME_IMAGE}")
	if !ok {
		t.Fatal("Dockerfile: no runtime stage FROM ${RUNTIME_IMAGE}")
	}
	depsFile, err := os.ReadFile("../scripts/deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	deps := string(depsFile)
	ldflags := regexp.MustCompile(`#cgo LDFLAGS:(.*)`)
	lib := regexp.MustCompile(`-l(\w+)`)
	linked := map[string]bool{}
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bench" || d.Name() == ".run" || d.Name() == ".git") {
			return filepath.SkipDir // benchmarks are not in the image
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range ldflags.FindAllStringSubmatch(string(b), -1) {
			for _, l := range lib.FindAllStringSubmatch(m[1], -1) {
				linked[l[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(linked) == 0 {
		t.Fatal("found no #cgo LDFLAGS: the scan is broken")
	}
	word := func(s, w string) bool {
		return regexp.MustCompile(`(^|[\s(])` + regexp.QuoteMeta(w) + `(\s|$|\))`).MatchString(s)
	}
	for l := range linked {
		pkgs, ok := cgoLibs[l]
		if !ok {
			t.Errorf("the code links -l%s: add its Debian packages to the Dockerfile, scripts/deps.sh and cgoLibs", l)
			continue
		}
		if !word(buildStage, pkgs.dev) || !word(deps, pkgs.dev) {
			t.Errorf("-l%s: %s missing from the Dockerfile's build stage or scripts/deps.sh", l, pkgs.dev)
		}
		if !word(runtimeStage, pkgs.runtime) {
			t.Errorf("-l%s: %s missing from the Dockerfile's runtime stage", l, pkgs.runtime)
		}
	}
	if !word(runtimeStage, "ffmpeg") || !word(deps, "ffmpeg") {
		t.Error("ffmpeg (ffmpeg, ffprobe) missing from the runtime stage or scripts/deps.sh")
	}
}
