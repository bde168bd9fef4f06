package media_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/media"
)

// A killed worker's temporary video directory is removed at the next
// start; a live one (recent) and anything else in the directory stay.
func TestClearStaleTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "ivsmedia-123")
	live := filepath.Join(dir, "ivsmedia-456")
	other := filepath.Join(dir, "someone-else")
	for _, d := range []string{old, live, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "input"), []byte("face video"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	for _, d := range []string{old, other} {
		if err := os.Chtimes(d, past, past); err != nil {
			t.Fatal(err)
		}
	}
	n, err := media.ClearStaleTemp(dir, media.StaleTempAge)
	if err != nil || n != 1 {
		t.Fatalf("cleared %d (%v); want 1", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the stale directory is still there: %v", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s went: %v", filepath.Base(d), err)
		}
	}
}
