package ingest

import (
	"bufio"
	"bytes"
	"cmp"
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
	Line   int               // 1-based physical line (CSV, JSON Lines), sheet row (xlsx) or element (JSON array)
	Values map[string]string // raw values of known columns; may be partial or empty when Err is set
	Extra  map[string]string // the customer's own columns or keys, kept as opaque metadata
	Err    error             // the row could not be read (bad quoting, bad JSON, wrong field count)
}

// ReadOptions say how to read a manifest. Zero values detect.
type ReadOptions struct {
	Name     string // the manifest's name or path: its extension hints at the format
	Format   Format // "" detects (DetectFormat)
	Encoding string // "" detects (Decode); ignored for xlsx
	Sheet    string // xlsx: the sheet to read ("" the first)
}

// Info says how a manifest was read.
type Info struct {
	Format    Format
	Encoding  string   // the text encoding used ("xlsx" for workbooks)
	Delimiter string   // delimited text: "comma", "semicolon" or "tab"
	Sheet     string   // xlsx: the sheet read
	Extra     []string // header columns kept as metadata (delimited text, xlsx)
}

// ReadFields streams the raw rows of a manifest in format f (UTF-8 or
// detected encoding) to fn; see Read.
func ReadFields(r io.Reader, f Format, fn func(Fields) error) error {
	_, err := Read(r, ReadOptions{Format: f}, fn)
	return err
}

// Read streams the raw rows of a manifest to fn. Fully empty rows are
// skipped. A row that cannot be read is passed with Err set and reading goes
// on with the next one. An error that makes the whole manifest unusable (a
// header without any manifest column, a repeated column, name without
// id_number, broken JSON array syntax, a read failure) is returned before
// any row is passed when it is the header's, as is any error of fn.
func Read(r io.Reader, o ReadOptions, fn func(Fields) error) (Info, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return Info{}, fmt.Errorf("manifest: read: %w", err)
	}
	info := Info{Format: o.Format}
	if info.Format == "" && (DetectFormat(o.Name, nil) == XLSX || bytes.HasPrefix(head, zipMagic)) {
		info.Format = XLSX
	}
	if info.Format == XLSX {
		info.Encoding = "xlsx"
		return info, readXLSX(br, o.Sheet, &info, fn)
	}
	text, enc, err := Decode(br, o.Encoding)
	if err != nil {
		return Info{}, fmt.Errorf("manifest: %w", err)
	}
	info.Encoding = enc
	tr := bufio.NewReaderSize(text, sniffBytes)
	thead, err := tr.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return info, fmt.Errorf("manifest: read: %w", err)
	}
	if info.Format == "" {
		info.Format = DetectFormat(o.Name, thead)
	}
	switch info.Format {
	case CSV:
		delim := sniffDelimiter(o.Name, thead)
		info.Delimiter = delimiterNames[delim]
		return info, readCSV(tr, delim, &info, fn)
	case JSONL:
		return info, readJSONL(tr, fn)
	case JSON:
		if t := bytes.TrimLeft(thead, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			return info, readJSONL(tr, fn) // JSON Lines named .json
		}
		return info, readJSONArray(tr, fn)
	}
	return info, fmt.Errorf("ingest: unknown manifest format %q (one of csv, jsonl, json, xlsx)", info.Format)
}

var delimiterNames = map[rune]string{',': "comma", ';': "semicolon", '\t': "tab"}

// sniffDelimiter picks comma, semicolon or tab: whichever occurs most often
// outside quotes in the header line (a .tsv file is tab-separated).
func sniffDelimiter(name string, head []byte) rune {
	if strings.HasSuffix(strings.ToLower(name), ".tsv") {
		return '\t'
	}
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(head) {
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted && delimiterNames[c] != "" {
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

func readCSV(r io.Reader, delim rune, info *Info, fn func(Fields) error) error {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	next := func() ([]string, int, error, error) {
		rec, err := cr.Read()
		if pe, ok := errors.AsType[*csv.ParseError](err); ok && !errors.Is(err, io.EOF) {
			return nil, pe.StartLine, pe.Err, nil
		}
		if err != nil {
			return nil, 0, nil, err
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil, nil
	}
	return readTable(next, false, info, fn)
}

// readTable reads a header and rows from next, which returns a row and its
// line, a row error (the row is unreadable, reading goes on) or a fatal
// error (io.EOF at the end). With short, a row may have fewer cells than
// the header (a sheet omits trailing empty cells); otherwise that is a
// malformed row.
func readTable(next func() (rec []string, line int, rowErr, err error), short bool, info *Info, fn func(Fields) error) error {
	var header []string
	for header == nil {
		rec, _, rowErr, err := next()
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("manifest: empty, want a header row")
		case err != nil:
			return fmt.Errorf("manifest: read header: %w", err)
		case rowErr != nil:
			return fmt.Errorf("manifest: read header: %w", rowErr)
		case !blank(rec):
			header = append([]string(nil), rec...)
		}
	}
	cols, err := parseHeader(header, info)
	if err != nil {
		return err
	}
	for {
		rec, line, rowErr, err := next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("manifest: read: %w", err)
		}
		if rowErr == nil && blank(rec) {
			continue // Excel's trailing ",,,,," rows
		}
		f := Fields{Line: line, Err: rowErr}
		if rowErr == nil && len(rec) > len(cols) && !blank(rec[len(cols):]) {
			f.Err = fmt.Errorf("%d fields, the header has %d", len(rec), len(cols))
		}
		if rowErr == nil && len(rec) < len(cols) && !short {
			f.Err = fmt.Errorf("%d fields, the header has %d", len(rec), len(cols))
		}
		if f.Err == nil {
			f.Values = make(map[string]string, len(cols))
			for i, c := range cols {
				switch {
				case i >= len(rec) || c.name == "":
				case c.extra:
					if f.Extra == nil {
						f.Extra = map[string]string{}
					}
					f.Extra[c.name] = rec[i]
				default:
					f.Values[c.name] = rec[i]
				}
			}
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

type column struct {
	name  string // "" for a blank header cell (its values are ignored)
	extra bool   // not a manifest column: the customer's metadata
}

// parseHeader maps header cells to columns and refuses, once, a header no
// row could be valid under.
func parseHeader(header []string, info *Info) ([]column, error) {
	cols := make([]column, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if strings.ContainsRune(h, '\uFFFD') {
			return nil, fmt.Errorf("manifest header: column %d is not text in %s: save the file as UTF-8 or pass -encoding", i+1, info.Encoding)
		}
		if h == "" {
			continue
		}
		lower := strings.ToLower(h)
		c := column{name: lower}
		if !knownColumn[lower] {
			c = column{name: h, extra: true}
		}
		if seen[c.name] {
			return nil, fmt.Errorf("manifest header: column %q repeated", truncate(c.name, 40))
		}
		seen[c.name] = true
		cols[i] = c
		if c.extra {
			info.Extra = append(info.Extra, c.name)
		}
	}
	if !seen["name"] && !seen["id_number"] && !seen["idcard_image1"] {
		what := fmt.Sprintf("%d columns", len(header))
		if len(header) == 1 {
			what = fmt.Sprintf("one column %q", truncate(header[0], 40))
		}
		return nil, fmt.Errorf("manifest header: no name/id_number or idcard_image1 column (read %s, %s-separated, %s; columns: %s)",
			what, cmp.Or(info.Delimiter, "cell"), info.Encoding, strings.Join(Columns, ", "))
	}
	for _, p := range [][2]string{{"name", "id_number"}, {"id_number", "name"}, {"video", "actions"}, {"idcard_image2", "idcard_image1"}} {
		if seen[p[0]] && !seen[p[1]] {
			return nil, fmt.Errorf("manifest header: column %s is missing (rows with %s need it)", p[1], p[0])
		}
	}
	return cols, nil
}

// blank reports whether every cell is empty or spaces.
func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
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
			f = jsonFields(line, b)
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

// readJSONArray streams the objects of a JSON array; Fields.Line is the
// element's position (1-based). Broken JSON syntax ends the manifest: the
// rest cannot be read.
func readJSONArray(r io.Reader, fn func(Fields) error) error {
	d := json.NewDecoder(r)
	tok, err := d.Token()
	if errors.Is(err, io.EOF) {
		return errors.New("manifest: empty JSON file, want an array of objects")
	}
	if err != nil || tok != json.Delim('[') {
		return fmt.Errorf("manifest: not a JSON array of objects (%v)", cmpErr(err, tok))
	}
	for n := 1; d.More(); n++ {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return fmt.Errorf("manifest: JSON array element %d: %w", n, err)
		}
		f := jsonFields(n, bytes.TrimSpace(raw))
		if f.Err == nil && len(f.Values)+len(f.Extra) == 0 {
			continue // {}
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if _, err := d.Token(); err != nil {
		return fmt.Errorf("manifest: JSON array not closed: %w", err)
	}
	return nil
}

func cmpErr(err error, tok json.Token) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("starts with %v", tok)
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

// jsonFields turns one JSON object into raw string values. Strings are kept
// as they are, numbers in their literal form, booleans as true/false, an
// array (actions: [1, 3]) joined with commas, null as absent. Keys that are
// not manifest columns are the customer's metadata: kept, scalars as text,
// anything else as its JSON.
func jsonFields(line int, b []byte) Fields {
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
			f.Err = fmt.Errorf("key %q: %w", k, err)
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

// truncate shortens s to at most n runes for a message.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
