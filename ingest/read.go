package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxLineBytes bounds one JSON Lines row; a longer line is a malformed row.
const MaxLineBytes = 1 << 20

// Fields is one raw manifest row: column → value, and its line.
type Fields struct {
	Line   int               // 1-based physical line where the row starts
	Values map[string]string // raw values; may be partial or empty when Err is set
	Err    error             // the row could not be read (bad quoting, bad JSON, unknown key)
}

// ReadFields streams the raw rows of a manifest to fn. A row that cannot be
// read is passed with Err set and reading goes on with the next line; an
// error that makes the whole manifest unreadable (a bad header, an unknown
// or repeated CSV column, a read failure) is returned, as is any error of fn.
func ReadFields(r io.Reader, f Format, fn func(Fields) error) error {
	switch f {
	case JSONL:
		return readJSONL(r, fn)
	case CSV:
		return readCSV(r, fn)
	}
	return fmt.Errorf("ingest: unknown manifest format %q", f)
}

func readCSV(r io.Reader, fn func(Fields) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("manifest line 1: empty manifest, want a header row")
	}
	if err != nil {
		return fmt.Errorf("manifest line 1: read header: %w", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !knownColumn[h] {
			return fmt.Errorf("manifest line 1: unknown column %q (columns: %s)", truncate(h, 40), strings.Join(Columns, ", "))
		}
		if seen[h] {
			return fmt.Errorf("manifest line 1: column %q repeated", h)
		}
		seen[h] = true
		cols[i] = h
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			if ferr := fn(Fields{Line: pe.StartLine, Err: pe.Err}); ferr != nil {
				return ferr
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("manifest: read: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			if ferr := fn(Fields{Line: line, Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(cols))}); ferr != nil {
				return ferr
			}
			continue
		}
		vals := make(map[string]string, len(cols))
		for i, c := range cols {
			vals[c] = rec[i]
		}
		if err := fn(Fields{Line: line, Values: vals}); err != nil {
			return err
		}
	}
}

func readJSONL(r io.Reader, fn func(Fields) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var buf []byte
	for line := 1; ; line++ {
		b, tooLong, err := readLine(br, &buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("manifest line %d: read: %w", line, err)
		}
		if len(b) == 0 && errors.Is(err, io.EOF) && !tooLong {
			return nil
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		b = bytes.TrimSpace(b)
		var f Fields
		switch {
		case tooLong:
			f = Fields{Line: line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
		case len(b) == 0:
			// blank line: nothing to report
		default:
			vals, verr := jsonValues(b)
			f = Fields{Line: line, Values: vals, Err: verr}
		}
		if f.Line != 0 {
			if ferr := fn(f); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readLine reads one line (without its newline) into *buf, discarding the
// rest of a line longer than MaxLineBytes (tooLong). At the end of the input
// err is io.EOF, possibly with a last unterminated line.
func readLine(br *bufio.Reader, buf *[]byte) (line []byte, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(chunk) > MaxLineBytes+1 {
				tooLong, *buf = true, (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return *buf, tooLong, err
		}
		return bytes.TrimSuffix(*buf, []byte("\n")), tooLong, nil
	}
}

// jsonValues turns one JSON object into raw string values. Strings are kept
// as they are, numbers in their literal form, booleans as true/false, an
// array (actions: [1, 3]) joined with commas, null as absent.
func jsonValues(b []byte) (map[string]string, error) {
	if b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw map[string]any
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if d.More() {
		return nil, errors.New("not one JSON object: text after it")
	}
	vals := make(map[string]string, len(raw))
	var bad error
	for k, v := range raw {
		if !knownColumn[k] {
			if bad == nil {
				bad = fmt.Errorf("unknown key %q (keys: %s)", truncate(k, 40), strings.Join(Columns, ", "))
			}
			continue
		}
		s, err := jsonScalar(v, true)
		if err != nil && bad == nil {
			bad = fmt.Errorf("key %q: %w", k, err)
		}
		if err == nil && s != "" {
			vals[k] = s
		}
	}
	return vals, bad
}

func jsonScalar(v any, arrayOK bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return x.String(), nil
	case []any:
		if !arrayOK {
			return "", errors.New("nested array")
		}
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := jsonScalar(e, false)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("an object is not a value")
}

// truncate shortens s to at most n runes for a message.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
