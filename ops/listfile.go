package ops

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

// The bounds of the files of ids and refs an operator hands to a command
// (ops requeue -ids-file, ops review -refs-file): at most this many entries,
// each line at most bufio.MaxScanTokenSize (64 KiB).
const (
	maxIDsFile  = 1_000_000 // a million-row batch
	maxRefsFile = 100_000
)

// ReadIDsFile reads record ids, one per line; blank lines and lines starting
// with # are ignored.
func ReadIDsFile(path string) ([]int64, error) {
	return readListFile(path, maxIDsFile, "ids", func(t string) (int64, error) {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil || id <= 0 {
			return 0, fmt.Errorf("%q is not a record id", t)
		}
		return id, nil
	})
}

// ReadRefsFile reads refs, one per line; blank lines and lines starting
// with # are ignored. A ref holding a control character is refused (refs
// never hold one: intake refuses them).
func ReadRefsFile(path string) ([]string, error) {
	return readListFile(path, maxRefsFile, "refs", func(t string) (string, error) {
		if _, bad := sink.FirstControl(t); bad {
			return "", errors.New("a ref with a control character")
		}
		return t, nil
	})
}

// readListFile reads one entry per line of the file at path through parse
// (given the line without surrounding space), skipping blank lines and
// lines starting with #, and refuses a file of more than max entries
// (what names them in the message). Errors name the file and the line.
func readListFile[T any](path string, max int, what string, parse func(string) (T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		v, err := parse(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if len(out) == max {
			return nil, fmt.Errorf("%s: more than %d %s", path, max, what)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	return out, nil
}
