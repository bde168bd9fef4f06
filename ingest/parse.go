package ingest

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
)

// Parse streams a manifest's rows, each validated (see Validate), to fn, in
// manifest order. A row that cannot be read is passed with an
// input.malformed error, one over the limits with input.too_large, and
// parsing goes on. A ref already used by an earlier row (valid or not) gives
// the later row input.duplicate_ref, and that row's Input.Ref becomes
// "<ref>#line-<n>" so it can still be stored under a key of its own. Parse
// returns an error only when the whole manifest is unusable (see Read: a
// header no row could be valid under, broken JSON array syntax, a read
// failure; and more rows than Limits.Rows, or too many rows over the limits:
// more than Limits.TooLargeRows, or more than half of the rows) or fn returns
// one. The format "" detects it; the encoding is detected (see Decode).
func Parse(r io.Reader, format Format, fn func(Row) error) error {
	_, err := ParseWith(r, ReadOptions{Format: format}, fn)
	return err
}

// ParseWith is Parse with the options of Read, and says how the manifest
// was read.
func ParseWith(r io.Reader, o ReadOptions, fn func(Row) error) (Info, error) {
	lim := o.Limits.withDefaults()
	seen := newRefSet()
	rows, oversized := 0, 0
	info, err := Read(r, o, func(fl Fields) error {
		if rows++; rows > lim.Rows {
			return fmt.Errorf("manifest: more than %d rows: split it into several manifests", lim.Rows)
		}
		row := lim.Validate(fl)
		if row.Err != nil && row.Err.Code == CodeTooLarge {
			if oversized++; oversized > lim.TooLargeRows {
				return tooManyOversized(oversized, rows)
			}
		}
		if first, dup := seen.add(row.Input.Ref, fl.Line); dup {
			row.Err = &RowError{Line: fl.Line, Field: "ref", Code: CodeDuplicateRef,
				Reason: "already used on line " + strconv.Itoa(first)}
			row.Input.Ref += "#" + defaultRef(fl.Line)
			seen.add(row.Input.Ref, fl.Line)
		}
		return fn(row)
	})
	if err == nil && oversized >= 10 && oversized*2 > rows {
		err = tooManyOversized(oversized, rows)
	}
	return info, err
}

func tooManyOversized(oversized, rows int) error {
	return fmt.Errorf("manifest: %d of the %d rows read are over the size limits (input.too_large): "+
		"not a manifest, or not read as what it is (-format, -encoding)? Nothing stored", oversized, rows)
}

// refSet remembers the refs of a manifest by a 96-bit keyed hash and the
// line each was first seen on: 16 bytes a ref however long it is, so a
// million-row manifest's duplicate check takes tens of megabytes. Two refs
// sharing a hash (odds about 10^-17 at two million rows) would be taken for
// duplicates.
type refSet struct {
	seeds [2]maphash.Seed
	lines map[[12]byte]uint32
}

func newRefSet() *refSet {
	return &refSet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, lines: map[[12]byte]uint32{}}
}

// add records ref at line unless it was seen before; then it returns the
// first line and true.
func (s *refSet) add(ref string, line int) (int, bool) {
	var k [12]byte
	binary.LittleEndian.PutUint64(k[:8], maphash.String(s.seeds[0], ref))
	binary.LittleEndian.PutUint32(k[8:], uint32(maphash.String(s.seeds[1], ref)))
	if first, ok := s.lines[k]; ok {
		return int(first), true
	}
	s.lines[k] = uint32(line)
	return 0, false
}
