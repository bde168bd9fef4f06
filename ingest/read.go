package ingest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

// Fields is one raw manifest row: column → value, and its line.
type Fields struct {
	Line   int               // 1-based physical line (CSV, JSON Lines), sheet row (xlsx) or element (JSON array)
	Values map[string]string // raw values of known columns; may be partial or empty when Err is set
	Extra  map[string]string // the customer's own columns or keys, kept as opaque metadata
	Err    error             // the row could not be read (bad quoting, bad JSON, wrong field count), or a *SizeError
}

// ReadOptions say how to read a manifest. Zero values detect.
type ReadOptions struct {
	Name     string // the manifest's name or path: its extension hints at the format
	Format   Format // "" detects (DetectFormat)
	Encoding string // "" detects (Decode); ignored for xlsx
	Sheet    string // xlsx: the sheet to read ("" the first)
	Limits   Limits // zero fields: DefaultLimits

	meter *meter // tests: what the reader held
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
// on with the next one; so is a row over o.Limits (a *SizeError), which is
// read to its end without being held. An error that makes the whole manifest
// unusable (a header without any manifest column, a repeated column, name
// without id_number, a header over the limits or with a control character,
// broken JSON array syntax, a workbook over its limits, a read failure) is
// returned before any row is passed when it is the header's, as is any
// error of fn.
func Read(r io.Reader, o ReadOptions, fn func(Fields) error) (Info, error) {
	lim := o.Limits.withDefaults()
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
		return info, readXLSX(br, o.Sheet, &lim, o.meter, &info, fn)
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
		return info, readCSV(tr, delim, &lim, o.meter, &info, fn)
	case JSONL:
		return info, readJSONL(tr, &lim, o.meter, fn)
	case JSON:
		if t := bytes.TrimLeft(thead, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			return info, readJSONL(tr, &lim, o.meter, fn) // JSON Lines named .json
		}
		return info, readJSONArray(tr, &lim, o.meter, fn)
	}
	return info, fmt.Errorf("ingest: unknown manifest format %s (one of csv, jsonl, json, xlsx)", quote(truncate(string(info.Format), 20)))
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

// readTable reads a header and rows from next, which returns a row and its
// line, a row error (the row is unreadable, reading goes on) or a fatal
// error (io.EOF at the end). With short, a row may have fewer cells than
// the header (a sheet omits trailing empty cells); otherwise that is a
// malformed row.
func readTable(next func() (rec []string, line int, rowErr, err error), short bool, lim *Limits, m *meter, info *Info, fn func(Fields) error) error {
	var header []string
	for header == nil {
		rec, _, rowErr, err := next()
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("manifest: empty, want a header row")
		case err != nil:
			return fmt.Errorf("manifest: read header: %w", err)
		case rowErr != nil:
			return fmt.Errorf("manifest header: %w", rowErr)
		case !blank(rec):
			header = append([]string(nil), rec...)
		}
	}
	cols, err := parseHeader(header, lim, info)
	if err != nil {
		return err
	}
	width := len(header) // cols stops at the last named column

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
		if rowErr == nil && len(rec) > width && !blank(rec[width:]) {
			f.Err = fmt.Errorf("%d fields, the header has %d", len(rec), width)
		}
		if rowErr == nil && len(rec) < width && !short {
			f.Err = fmt.Errorf("%d fields, the header has %d", len(rec), width)
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
// row could be valid under, or one with more columns than lim allows, a name
// too long or holding control characters.
func parseHeader(header []string, lim *Limits, info *Info) ([]column, error) {
	header = header[:lastNonBlank(header)+1] // Excel's trailing empty cells
	if len(header) > lim.Columns {
		return nil, fmt.Errorf("manifest header: %d columns, at most %d", len(header), lim.Columns)
	}
	cols := make([]column, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if strings.ContainsRune(h, '\uFFFD') {
			return nil, fmt.Errorf("manifest header: column %d is not text in %s: save the file as UTF-8 or pass -encoding", i+1, info.Encoding)
		}
		if err := checkColumnName(h, lim); err != nil {
			return nil, fmt.Errorf("manifest header: column %d: %w", i+1, err)
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
			return nil, fmt.Errorf("manifest header: column %s repeated", quote(truncate(c.name, 40)))
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
			what = fmt.Sprintf("one column %s", quote(truncate(header[0], 40)))
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

// checkColumnName refuses a header name or JSON key longer than
// lim.ColumnNameBytes (a *SizeError) or holding a control character (C0,
// C1, bidirectional formatting: sink.Control), which would reach terminals,
// exports and the stored metadata.
func checkColumnName(name string, lim *Limits) error {
	if len(name) > lim.ColumnNameBytes {
		return tooLarge("", "%s is longer than %d bytes", quote(truncate(name, 20)), lim.ColumnNameBytes)
	}
	if r, bad := sink.FirstControl(name); bad {
		return fmt.Errorf("%s holds a control character (%U) or bytes that are not text", quote(truncate(name, 40)), r)
	}
	return nil
}

// lastNonBlank is the index of the last cell that is not empty or spaces, -1
// when none.
func lastNonBlank(rec []string) int {
	for i := len(rec) - 1; i >= 0; i-- {
		if strings.TrimSpace(rec[i]) != "" {
			return i
		}
	}
	return -1
}

// quote puts manifest text in quotes for a message, escaped for terminals
// (sink.Terminal): it is printed by enqueue and stored as an error message.
func quote(s string) string { return `"` + sink.Terminal(s) + `"` }

// blank reports whether every cell is empty or spaces.
func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// truncate shortens s to at most n runes for a message.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
