package ops

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ExportColumns are the columns every export starts with, by their machine
// names (the header of an English or -raw export). The customer's columns
// follow, then the OCR columns (batches with id-card shapes), the liveness
// columns (video shapes) and the review decision's (when decisions are
// given): see exportLayout.
var ExportColumns = []string{"id", "ref", "line", "shape", "status", "verdict", "verification_code", "similarity",
	"explanation", "last_error_code", "last_error_message", "attempts", "finished_at", "linked_record_id",
	"name_masked", "id_number_masked", "personal_data"}

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// utf8BOM starts a CSV export unless ExportOptions.NoBOM: Excel and WPS on
// Chinese Windows read a CSV without it as GBK (周 shows as 鍛).
const utf8BOM = "\uFEFF"

// ExportOptions choose the export's format, language, time zone and whether
// its cells are neutralised. Zero values take the defaults.
type ExportOptions struct {
	// Warn is where ExportAudited says that it could not write its audit row
	// (a reader without the grant, a replica); default os.Stderr.
	Warn io.Writer
	// Format is FormatCSV (the default) or FormatXLSX: one sheet, every
	// cell of text typed as a string (an inline string, never a formula),
	// the numbers this program wrote typed as numbers, times as dates.
	Format string
	// Raw writes CSV cells as stored, for programs: machine names in the
	// header, statuses, verdicts and shapes as stored, times in RFC 3339
	// with their offset. By default a cell a spreadsheet would evaluate
	// (leading = + - @, TAB, CR, LF or their full-width forms: refs and
	// metadata come from the customer's manifest, messages and OCR from
	// outside) is prefixed with an apostrophe (sink.SpreadsheetCell), which
	// Excel, WPS and LibreOffice show as text.
	Raw bool
	// NoBOM leaves out the UTF-8 byte order mark a CSV starts with.
	NoBOM bool
	// Zone is the time zone of the times written (default UTC; ops export
	// defaults to the machine's, LoadZone). Its name (Location.String) is
	// shown in the header.
	Zone *time.Location
	// Lang is the language of the header, of status, verdict and shape
	// names and of the explanation column (default English, whose header
	// is ExportColumns' machine names). A raw export explains in Lang and
	// keeps everything else as stored.
	Lang i18n.Lang
	// Decisions gives the review decisions shown in the review columns
	// (default: the store's, StoreDecisions). A batch without any has no
	// review columns.
	Decisions DecisionSource
}

// Decision is a reviewer's decision on a record, as an export shows it.
type Decision struct {
	Outcome string // the review workflow's word (approve, reject, reverify …): i18n label "decision.<word>" when there is one
	By      string // who decided
	At      time.Time
	Reason  string
}

// DecisionSource returns the review decisions of the records of a batch, by
// record id. Decisions are few (one per review case), so they are held.
type DecisionSource func(ctx context.Context, batchID int64) (map[int64]Decision, error)

func (o ExportOptions) validate() error {
	switch o.Format {
	case "", FormatCSV:
	case FormatXLSX:
		if o.Raw {
			return fmt.Errorf("export: raw cells are for CSV (xlsx cells are typed text, never formulas)")
		}
	default:
		return fmt.Errorf("export: format %q: want %s or %s", o.Format, FormatCSV, FormatXLSX)
	}
	if _, err := i18n.Parse(string(cmp.Or(o.Lang, i18n.English))); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func (o ExportOptions) withDefaults() ExportOptions {
	o.Format = cmp.Or(o.Format, FormatCSV)
	o.Lang, _ = i18n.Parse(string(cmp.Or(o.Lang, i18n.English))) // zh_CN.UTF-8 is zh-CN; validate refused the rest
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	return o
}

// Export writes every record of batchID as CSV with neutralised cells
// (ExportAs with the default options) and returns the number of records.
func Export(ctx context.Context, st *store.Store, batchID int64, w io.Writer) (int, error) {
	return ExportAs(ctx, st, batchID, w, ExportOptions{})
}

// ExportAs writes every record of batchID in o's format: ExportColumns, the
// customer's own columns each as a column of its own, masked OCR and
// liveness columns when the batch has such shapes, and the review columns;
// personal data masked (identity.MaskName, MaskID, MaskAddress, MaskDate;
// never in full), error messages scrubbed of the record's name, id number
// and media references (Record.Scrub), every outcome explained in o.Lang.
// It returns the number of records. The batch is read twice, in chunks, and
// written as it comes: memory stays flat for a million rows (a first pass
// reads only shapes and customer's columns, to write the header). The audit
// row is the caller's (ExportAudited).
func ExportAs(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ExportOptions) (int, error) {
	if err := o.validate(); err != nil {
		return 0, err
	}
	o = o.withDefaults()
	if _, err := st.GetBatch(ctx, batchID); err != nil {
		return 0, err
	}
	if o.Decisions == nil {
		o.Decisions = StoreDecisions(st)
	}
	layout, err := planExport(ctx, st, batchID, o)
	if err != nil {
		return 0, err
	}
	var out rowWriter
	if o.Format == FormatXLSX {
		x, err := newXLSXRows(w, o.Zone)
		if err != nil {
			return 0, err
		}
		out = x
	} else {
		if !o.NoBOM {
			if _, err := io.WriteString(w, utf8BOM); err != nil {
				return 0, err
			}
		}
		out = &csvRows{w: csv.NewWriter(w), raw: o.Raw, zone: o.Zone}
	}
	header := layout.header()
	hcells := make([]cell, len(header))
	for i, h := range header {
		hcells[i] = cell{text: h}
	}
	if err := out.write(hcells); err != nil {
		return 0, err
	}
	n := 0
	err = st.EachRecord(ctx, batchID, nil, func(r *pipeline.Record) error {
		n++
		return out.write(layout.row(r))
	})
	if err != nil {
		return n, err
	}
	return n, out.close()
}

// ExportAudited is ExportAs followed by its audit row (the output path, the
// format, the language, the zone, the row count). An audit row that cannot
// be written (a replica, a read-only role) does not undo the export: it is
// reported on o.Warn.
func ExportAudited(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ExportOptions, path, operator string) (int, error) {
	n, err := ExportAs(ctx, st, batchID, w, o)
	if err != nil {
		return n, err
	}
	o = o.withDefaults()
	AuditReadOnly(ctx, st, store.AuditEntry{Operator: operator, Command: "export", BatchID: batchID,
		Args: map[string]any{"batch": batchID, "output": path, "format": o.Format, "raw": o.Raw,
			"lang": string(o.Lang), "zone": o.Zone.String(), "bom": o.Format == FormatCSV && !o.NoBOM},
		Result: map[string]any{"records": n}}, cmp.Or[io.Writer](o.Warn, os.Stderr))
	return n, nil
}

// personalData says whether a record still holds its personal data: "held",
// "purged" (its retention passed) or "erased" (the person asked); a purged
// record keeps its verdict.
func personalData(r *pipeline.Record) string {
	switch {
	case r.ErasedAt != nil:
		return "erased"
	case r.PurgedAt != nil:
		return "purged"
	}
	return "held"
}

// cell is one value of a row: text, or a number this program wrote (typed
// as a number in xlsx), or a time.
type cell struct {
	text string
	num  bool
	at   *time.Time
}

// rowWriter writes the export's rows in one format.
type rowWriter interface {
	write(row []cell) error
	close() error
}

// csvRows writes CSV, cells neutralised unless raw; times in zone, as
// "2006-01-02 15:04:05" (which Excel and WPS read as a date) or RFC 3339 if
// raw.
type csvRows struct {
	w    *csv.Writer
	raw  bool
	zone *time.Location
	buf  []string
}

func (c *csvRows) write(row []cell) error {
	c.buf = c.buf[:0]
	for _, x := range row {
		s := x.text
		switch {
		case x.at != nil && c.raw:
			s = x.at.In(c.zone).Format(time.RFC3339)
		case x.at != nil:
			s = x.at.In(c.zone).Format(time.DateTime)
		case !c.raw:
			s = sink.SpreadsheetCell(s)
		}
		c.buf = append(c.buf, s)
	}
	return c.w.Write(c.buf)
}

func (c *csvRows) close() error {
	c.w.Flush()
	return c.w.Error()
}

// xlsxRows writes one sheet through excelize's StreamWriter, which keeps
// rows in a temporary file rather than in memory, and zips the workbook
// straight to the output (File.WriteTo would build the whole file in a
// buffer first: tens of megabytes for a million rows).
type xlsxRows struct {
	f         *excelize.File
	sw        *excelize.StreamWriter
	next      int
	dateStyle int
	zone      *time.Location
	buf       []any
}

// ExportSheet is the name of the xlsx export's sheet.
const ExportSheet = "records"

func newXLSXRows(w io.Writer, zone *time.Location) (*xlsxRows, error) {
	f := excelize.NewFile()
	// The zip goes to w as it is written; the buffer WriteToBuffer passes
	// stays empty. (Its only use is marking entries over 4 GiB as zip64 in
	// their local headers; a sheet of a million rows is a few hundred MB.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	fail := func(err error) (*xlsxRows, error) {
		f.Close()
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", ExportSheet); err != nil {
		return fail(err)
	}
	format := "yyyy-mm-dd hh:mm:ss"
	style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &format})
	if err != nil {
		return fail(err)
	}
	sw, err := f.NewStreamWriter(ExportSheet)
	if err != nil {
		return fail(err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fail(err)
	}
	return &xlsxRows{f: f, sw: sw, next: 1, dateStyle: style, zone: zone}, nil
}

func (x *xlsxRows) write(row []cell) error {
	x.buf = x.buf[:0]
	for _, c := range row {
		x.buf = append(x.buf, x.cell(c))
	}
	name, err := excelize.CoordinatesToCellName(1, x.next)
	if err != nil {
		return err
	}
	x.next++
	return x.sw.SetRow(name, x.buf)
}

// cell types c: a date (its wall time in the export's zone, styled as one), a
// number when it is one this program wrote, a string (inlineStr) otherwise.
func (x *xlsxRows) cell(c cell) any {
	switch {
	case c.at != nil:
		return excelize.Cell{StyleID: x.dateStyle, Value: c.at.In(x.zone).Truncate(time.Second)} // as the CSV shows it
	case c.num && c.text != "":
		if n, err := strconv.ParseInt(c.text, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseFloat(c.text, 64); err == nil {
			return n
		}
	}
	return c.text
}

func (x *xlsxRows) close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteToBuffer() // through the zip writer set in newXLSXRows
	return err
}
