package ingest

import (
	"io"
	"strconv"
	"strings"
)

// Parse streams a manifest's rows, each validated (see Validate), to fn, in
// manifest order. A row that cannot be read is passed with an
// input.malformed error and parsing goes on. A ref already used by an
// earlier row (valid or not) gives the later row input.duplicate_ref, and
// that row's Input.Ref becomes "<ref>#line-<n>" so it can still be stored
// under a key of its own. Parse returns an error only when the whole
// manifest is unusable (see Read: a header no row could be valid under,
// broken JSON array syntax, a read failure) or fn returns one. The format
// "" detects it; the encoding is detected (see Decode).
func Parse(r io.Reader, format Format, fn func(Row) error) error {
	_, err := ParseWith(r, ReadOptions{Format: format}, fn)
	return err
}

// ParseWith is Parse with the options of Read, and says how the manifest
// was read.
func ParseWith(r io.Reader, o ReadOptions, fn func(Row) error) (Info, error) {
	seen := map[string]int{}
	return Read(r, o, func(fl Fields) error {
		row := Validate(fl)
		if first, dup := seen[row.Input.Ref]; dup {
			row.Err = &RowError{Line: fl.Line, Field: "ref", Code: CodeDuplicateRef,
				Reason: "already used on line " + strconv.Itoa(first)}
			row.Input.Ref += "#" + defaultRef(fl.Line)
		}
		// A clone: the ref may share the memory of its whole line.
		seen[strings.Clone(row.Input.Ref)] = fl.Line
		return fn(row)
	})
}
