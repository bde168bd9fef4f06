package ingest

import "fmt"

// CodeTooLarge refuses a row over one of the Limits (a row, a cell, the
// customer's columns, too many columns). The row is stored as rejected with
// its line and, when it could be read, its ref; the oversized values are not
// kept.
const CodeTooLarge = "input.too_large"

// Limits bound what one manifest can make intake hold or store. Every reader
// checks them as it streams, so the memory of `enqueue submit` does not
// depend on what the file holds (bench/submitrss measures it). Zero fields
// take DefaultLimits' values.
type Limits struct {
	// Per manifest.
	Rows         int // data rows; more and the manifest is refused whole (split it)
	TooLargeRows int // rows refused as input.too_large; more and the manifest is refused whole (also when they are more than half of its rows)

	// Per row.
	RecordBytes     int // one row as read: a CSV record (quoted newlines included), a JSON Lines line, a JSON array element, the text of a sheet row
	CellBytes       int // one cell or JSON value, as text
	RefBytes        int // the ref (a longer one is input.ref, as are control characters)
	Columns         int // header columns, keys of one JSON object, a sheet row's last column
	ColumnNameBytes int // one header name or JSON key
	MetadataBytes   int // the customer's columns of one record, as the JSON object stored (metadata_enc)

	// A workbook (.xlsx), checked from its zip central directory before
	// anything is inflated, then again as it streams.
	XLSXBytes          int64 // the file itself (held in memory: a zip is read from its end)
	XLSXEntries        int   // entries in the zip
	XLSXUnzippedBytes  int64 // all entries inflated, as declared (a sheet is streamed: this bounds time, not memory)
	XLSXRatio          int64 // inflated/compressed, per entry and overall, for entries (or totals) over 1 MiB
	XLSXPartBytes      int64 // a part read whole: [Content_Types].xml, the workbook, its relationships, the styles
	SharedStringsBytes int64 // xl/sharedStrings.xml inflated (its strings are held while the sheet is read)
	SharedStrings      int   // strings in it
	Sheets             int   // sheets in the workbook
	SheetRows          int   // a sheet's last row (Excel's own limit)
	XMLTokenBytes      int   // one XML text or tag; Excel's cells hold at most 32,767 characters, which fit
	XMLDepth           int   // nesting of XML elements
}

// DefaultLimits are the bounds intake applies; the README's intake section
// quotes them. Names are bounded by identity.MaxNameRunes (64 characters).
var DefaultLimits = Limits{
	Rows:         2_000_000,
	TooLargeRows: 1_000,

	RecordBytes:     64 << 10,
	CellBytes:       4 << 10,
	RefBytes:        128,
	Columns:         256,
	ColumnNameBytes: 256,
	MetadataBytes:   8 << 10,

	XLSXBytes:          32 << 20,
	XLSXEntries:        10_000,
	XLSXUnzippedBytes:  512 << 20,
	XLSXRatio:          100,
	XLSXPartBytes:      8 << 20,
	SharedStringsBytes: 32 << 20,
	SharedStrings:      4_000_000,
	Sheets:             256,
	SheetRows:          1 << 20,
	XMLTokenBytes:      256 << 10,
	XMLDepth:           64,
}

// ratioGrace is the inflated size under which an entry's (or the whole
// archive's) compression ratio is not checked: small XML parts of repeated
// markup compress very well and cost nothing.
const ratioGrace = 1 << 20

// withDefaults returns l with its zero fields set from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set64 := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&l.Rows, d.Rows)
	set(&l.TooLargeRows, d.TooLargeRows)
	set(&l.RecordBytes, d.RecordBytes)
	set(&l.CellBytes, d.CellBytes)
	set(&l.RefBytes, d.RefBytes)
	set(&l.Columns, d.Columns)
	set(&l.ColumnNameBytes, d.ColumnNameBytes)
	set(&l.MetadataBytes, d.MetadataBytes)
	set64(&l.XLSXBytes, d.XLSXBytes)
	set(&l.XLSXEntries, d.XLSXEntries)
	set64(&l.XLSXUnzippedBytes, d.XLSXUnzippedBytes)
	set64(&l.XLSXRatio, d.XLSXRatio)
	set64(&l.XLSXPartBytes, d.XLSXPartBytes)
	set64(&l.SharedStringsBytes, d.SharedStringsBytes)
	set(&l.SharedStrings, d.SharedStrings)
	set(&l.Sheets, d.Sheets)
	set(&l.SheetRows, d.SheetRows)
	set(&l.XMLTokenBytes, d.XMLTokenBytes)
	set(&l.XMLDepth, d.XMLDepth)
	return l
}

// SizeError says a row is over one of the Limits; Validate refuses it as
// input.too_large.
type SizeError struct {
	Field  string // the column at fault, "" for the whole row
	Reason string
}

func (e *SizeError) Error() string { return e.Reason }

func tooLarge(field, format string, args ...any) *SizeError {
	return &SizeError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// meter accounts for the manifest bytes a reader holds at once, so tests and
// fuzzers can check the bounds hold whatever the input.
type meter struct {
	record int64 // the largest row buffer (record, line, element, sheet row text)
	token  int64 // the largest XML token let through
	held   int64 // workbook bytes held whole: the file and its shared strings
}

func (m *meter) row(n int) {
	if m != nil {
		m.record = max(m.record, int64(n))
	}
}

func (m *meter) xmlToken(n int) {
	if m != nil {
		m.token = max(m.token, int64(n))
	}
}

func (m *meter) hold(n int64) {
	if m != nil {
		m.held += n
	}
}
