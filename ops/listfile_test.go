package ops

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The files of ids and refs are bounded: more entries than allowed, or a
// line longer than 64 KiB, is an error naming the file, never a partial list.
func TestReadListFileBounds(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "list")
	parse := func(s string) (int, error) { return strconv.Atoi(s) }
	if err := os.WriteFile(p, []byte("# three\n1\n\n2\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readListFile(p, 3, "ids", parse); err != nil || len(got) != 3 || got[2] != 3 {
		t.Errorf("three entries, bound 3: %v %v", got, err)
	}
	if got, err := readListFile(p, 2, "ids", parse); err == nil || !strings.Contains(err.Error(), "more than 2 ids") {
		t.Errorf("three entries, bound 2: %v %v; want refused", got, err)
	}
	if err := os.WriteFile(p, []byte("1\n"+strings.Repeat("9", 70_000)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readListFile(p, 10, "ids", parse); err == nil || !strings.Contains(err.Error(), p+":2:") {
		t.Errorf("a 70 KB line: %v %v; want an error at line 2", got, err)
	}
}
