package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

func readJSONL(r io.Reader, lim *Limits, m *meter, fn func(Fields) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var buf []byte
	for line := 1; ; line++ {
		b, over, err := readLine(br, &buf, lim.RecordBytes, m)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("manifest line %d: read: %w", line, err)
		}
		if len(b) == 0 && errors.Is(err, io.EOF) && !over {
			return nil
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, utf8BOM)
		}
		b = bytes.TrimSpace(b)
		var f Fields
		switch {
		case over:
			f = Fields{Line: line, Err: tooLarge("", "line longer than %d bytes", lim.RecordBytes)}
		case len(b) == 0:
			// blank line: nothing to report
		default:
			f = jsonFields(line, b, lim)
		}
		if f.Line != 0 && (f.Err != nil || len(f.Values)+len(f.Extra) > 0) {
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
// rest of a line longer than limit (over). At the end of the input err is
// io.EOF, possibly with a last unterminated line.
func readLine(br *bufio.Reader, buf *[]byte, limit int, m *meter) (line []byte, over bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !over {
			if len(*buf)+len(chunk) > limit+1 {
				over, *buf = true, (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
				m.row(cap(*buf))
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return *buf, over, err
		}
		return bytes.TrimSuffix(*buf, []byte("\n")), over, nil
	}
}

// readJSONArray streams the elements of a JSON array; Fields.Line is the
// element's position (1-based). An elementSplitter cuts the array (json.Decoder
// would hold a whole element, however large): an element over
// lim.RecordBytes is skipped and refused as input.too_large. Broken JSON
// syntax ends the manifest: the rest cannot be read.
func readJSONArray(r io.Reader, lim *Limits, m *meter, fn func(Fields) error) error {
	sp := &elementSplitter{br: bufio.NewReaderSize(r, 1<<16), limit: lim.RecordBytes, m: m}
	c, err := sp.skipSpace()
	if errors.Is(err, io.EOF) {
		return errors.New("manifest: empty JSON file, want an array of objects")
	}
	if err != nil {
		return fmt.Errorf("manifest: read: %w", err)
	}
	if c != '[' {
		return fmt.Errorf("manifest: not a JSON array of objects (starts with %s)", sink.Terminal(strconv.QuoteRune(rune(c))))
	}
	for n := 1; ; n++ {
		c, err := sp.skipSpace()
		if err != nil {
			return fmt.Errorf("manifest: JSON array not closed: %w", err)
		}
		if c == ']' && n == 1 {
			return nil
		}
		elem, over, err := sp.element(c)
		if err != nil {
			return fmt.Errorf("manifest: JSON array element %d: %w", n, err)
		}
		var f Fields
		switch {
		case over:
			f = Fields{Line: n, Err: tooLarge("", "array element longer than %d bytes", lim.RecordBytes)}
		case !json.Valid(elem):
			var v any
			err := json.Unmarshal(elem, &v)
			return fmt.Errorf("manifest: JSON array element %d: %w", n, err)
		default:
			f = jsonFields(n, elem, lim)
		}
		if f.Err != nil || len(f.Values)+len(f.Extra) > 0 { // {} is skipped
			if err := fn(f); err != nil {
				return err
			}
		}
		c, err = sp.skipSpace()
		switch {
		case err != nil:
			return fmt.Errorf("manifest: JSON array not closed: %w", err)
		case c == ']':
			return nil // what follows the array is not read
		case c != ',':
			return fmt.Errorf("manifest: JSON array element %d: want , or ] after it, not %s", n, sink.Terminal(strconv.QuoteRune(rune(c))))
		}
	}
}

// elementSplitter cuts a JSON array into its elements' bytes, keeping at
// most limit bytes of one.
type elementSplitter struct {
	br    *bufio.Reader
	limit int
	m     *meter
	buf   []byte
}

// skipSpace returns the next byte that is not JSON white space.
func (s *elementSplitter) skipSpace() (byte, error) {
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
}

// element reads one value that starts with c: an object or array to its
// matching bracket, a string to its closing quote, anything else to the next
// comma, bracket or space. Its syntax is json's to check; over says it was
// longer than the limit (then it was read but not kept).
func (s *elementSplitter) element(c byte) (elem []byte, over bool, err error) {
	s.buf = append(s.buf[:0], c)
	keep := func(c byte) {
		if over || len(s.buf) >= s.limit {
			over = true
			return
		}
		s.buf = append(s.buf, c)
	}
	depth, inString, escaped := 0, false, false
	switch c {
	case '{', '[':
		depth = 1
	case '"':
		inString = true
	default:
		for {
			c, err := s.br.ReadByte()
			if err != nil {
				return nil, false, err
			}
			if c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				_ = s.br.UnreadByte()
				s.m.row(cap(s.buf))
				if over {
					return nil, true, nil
				}
				return s.buf, false, nil
			}
			keep(c)
		}
	}
	for depth > 0 || inString {
		c, err := s.br.ReadByte()
		if err != nil {
			return nil, false, err
		}
		keep(c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	s.m.row(cap(s.buf))
	if over {
		return nil, true, nil
	}
	return s.buf, false, nil
}

// jsonFields turns one JSON object into raw string values. Strings are kept
// as they are, numbers in their literal form, booleans as true/false, an
// array (actions: [1, 3]) joined with commas, null as absent. Keys that are
// not manifest columns are the customer's metadata: kept, scalars as text,
// anything else as its JSON. Keys are bounded like header names.
func jsonFields(line int, b []byte, lim *Limits) Fields {
	f := Fields{Line: line}
	if len(b) == 0 || b[0] != '{' {
		f.Err = errors.New("not a JSON object")
		return f
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw map[string]any
	if err := d.Decode(&raw); err != nil {
		f.Err = fmt.Errorf("not a JSON object: %w", err)
		return f
	}
	if d.More() {
		f.Err = errors.New("not one JSON object: text after it")
		return f
	}
	if len(raw) > lim.Columns {
		f.Err = tooLarge("", "%d keys, at most %d", len(raw), lim.Columns)
		return f
	}
	for k := range raw {
		if err := checkColumnName(k, lim); err != nil {
			f.Err = fmt.Errorf("key %w", err)
			if se, ok := errors.AsType[*SizeError](err); ok {
				f.Err = tooLarge("", "key %s", se.Reason)
			}
			return f
		}
	}
	f.Values = make(map[string]string, len(raw))
	for k, v := range raw {
		if !knownColumn[k] {
			if f.Extra == nil {
				f.Extra = map[string]string{}
			}
			s, err := jsonScalar(v, false)
			if err != nil {
				j, _ := json.Marshal(v)
				s = string(j)
			}
			f.Extra[k] = s
			continue
		}
		s, err := jsonScalar(v, true)
		if err != nil && f.Err == nil {
			f.Err = fmt.Errorf("key %s: %w", k, err)
		}
		if err == nil && s != "" {
			f.Values[k] = s
		}
	}
	return f
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
