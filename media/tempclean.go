package media

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempPrefix names the temporary directories prepareVideo makes (a face
// video and its transcodes: personal data).
const tempPrefix = "ivsmedia-"

// StaleTempAge is how old a temporary media directory must be for
// ClearStaleTemp to remove it: far longer than any preparation runs under
// its deadline, so another worker's live directory on the same host stays.
const StaleTempAge = 10 * time.Minute

// ClearStaleTemp removes the temporary media directories under dir ("": the
// system's) older than age, left by a worker that was killed while
// preparing a video, and returns how many it removed. Workers run it when
// they start.
func ClearStaleTemp(dir string, age time.Duration) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("media: clear temp: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
