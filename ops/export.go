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

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ExportColumns is the header of ops export's CSV.
var ExportColumns = []string{"id", "ref", "line", "shape", "status", "verdict", "verification_code", "similarity",
	"last_error_code", "last_error_message", "attempts", "finished_at", "linked_record_id", "name_masked", "id_number_masked", "metadata", "personal_data"}

// numericColumns are the ExportColumns that hold numbers this program
// wrote (never text from outside): an xlsx export types them as numbers.
var numericColumns = map[int]bool{0: true, 2: true, 6: true, 7: true, 10: true, 12: true}

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// ExportOptions choose the export's format and whether its cells are
// neutralised.
type ExportOptions struct {
	// Warn is where ExportAudited says that it could not write its audit row
	// (a reader without the grant, a replica); default os.Stderr.
	Warn io.Writer
	// Format is FormatCSV (the default) or FormatXLSX: one sheet, every
	// cell of text typed as a string (an inline string, never a formula),
	// the numbers this program wrote typed as numbers.
	Format string
	// Raw writes CSV cells as stored, for programs. By default a cell a
	// spreadsheet would evaluate (leading = + - @, TAB, CR, LF or their
	// full-width forms: refs and metadata come from the customer's
	// manifest, messages from libraries) is prefixed with an apostrophe
	// (sink.SpreadsheetCell), which Excel, WPS and LibreOffice show as text.
	Raw bool
}

func (o ExportOptions) validate() error {
	switch o.Format {
	case "", FormatCSV:
		return nil
	case FormatXLSX:
		if o.Raw {
			return fmt.Errorf("export: raw cells are for CSV (xlsx cells are typed text, never formulas)")
		}
		return nil
	}
	return fmt.Errorf("export: format %q: want %s or %s", o.Format, FormatCSV, FormatXLSX)
}

// Export writes every record of batchID as CSV with neutralised cells
// (ExportAs with the default options) and returns the number of records.
func Export(ctx context.Context, st *store.Store, batchID int64, w io.Writer) (int, error) {
	return ExportAs(ctx, st, batchID, w, ExportOptions{})
}

// ExportAs writes every record of batchID (ExportColumns) in o's format,
// personal data masked (identity.MaskName, identity.MaskID; never in
// full), error messages scrubbed of the record's name, id number and media
// references (Record.Scrub: a second guard for messages stored before the
// processor scrubbed them), the manifest's own extra columns in metadata (a
// JSON object, as given, so results join back to the customer's keys), and
// returns the number of records. Records are read in chunks and written as
// they come: memory stays flat for a million rows. The audit row is the
// caller's (ExportAudited).
func ExportAs(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ExportOptions) (int, error) {
	if err := o.validate(); err != nil {
		return 0, err
	}
	if _, err := st.GetBatch(ctx, batchID); err != nil {
		return 0, err
	}
	var out rowWriter
	if o.Format == FormatXLSX {
		x, err := newXLSXRows(w)
		if err != nil {
			return 0, err
		}
		out = x
	} else {
		out = &csvRows{w: csv.NewWriter(w), raw: o.Raw}
	}
	if err := out.write(ExportColumns); err != nil {
		return 0, err
	}
	n := 0
	err := st.EachRecord(ctx, batchID, nil, func(r *pipeline.Record) error {
		n++
		return out.write(exportRow(r))
	})
	if err != nil {
		return n, err
	}
	return n, out.close()
}

// ExportAudited is ExportAs followed by its audit row (the output path, the
// format, the row count). An audit row that cannot be written (a replica,
// a read-only role) does not undo the export: it is reported on o.Warn.
func ExportAudited(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ExportOptions, path, operator string) (int, error) {
	n, err := ExportAs(ctx, st, batchID, w, o)
	if err != nil {
		return n, err
	}
	AuditReadOnly(ctx, st, store.AuditEntry{Operator: operator, Command: "export", BatchID: batchID,
		Args:   map[string]any{"batch": batchID, "output": path, "format": cmp.Or(o.Format, FormatCSV), "raw": o.Raw},
		Result: map[string]any{"records": n}}, cmp.Or[io.Writer](o.Warn, os.Stderr))
	return n, nil
}

func exportRow(r *pipeline.Record) []string {
	code, sim, finished := "", "", ""
	if r.Code != nil {
		code = strconv.Itoa(*r.Code)
	}
	if r.Similarity != nil {
		sim = strconv.FormatFloat(*r.Similarity, 'f', -1, 64)
	}
	if r.FinishedAt != nil {
		finished = r.FinishedAt.UTC().Format(time.RFC3339)
	}
	linked := ""
	if r.LinkedRecordID != nil {
		linked = strconv.FormatInt(*r.LinkedRecordID, 10) // answered by reuse: no call
	}
	return []string{strconv.FormatInt(r.ID, 10), r.Ref, strconv.Itoa(r.Line), string(r.Shape), string(r.Status),
		r.Result, code, sim, r.LastErrorCode, r.Scrub(r.LastErrorMessage), strconv.Itoa(r.Attempts), finished, linked,
		identity.MaskName(r.Name), identity.MaskID(r.IDNumber), r.Metadata, personalData(r)}
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

// rowWriter writes the export's rows in one format.
type rowWriter interface {
	write(row []string) error
	close() error
}

// csvRows writes CSV, cells neutralised unless raw.
type csvRows struct {
	w   *csv.Writer
	raw bool
	buf []string
}

func (c *csvRows) write(row []string) error {
	if c.raw {
		return c.w.Write(row)
	}
	c.buf = c.buf[:0]
	for _, cell := range row {
		c.buf = append(c.buf, sink.SpreadsheetCell(cell))
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
	f    *excelize.File
	sw   *excelize.StreamWriter
	next int
	buf  []any
}

// ExportSheet is the name of the xlsx export's sheet.
const ExportSheet = "records"

func newXLSXRows(w io.Writer) (*xlsxRows, error) {
	f := excelize.NewFile()
	// The zip goes to w as it is written; the buffer WriteToBuffer passes
	// stays empty. (Its only use is marking entries over 4 GiB as zip64 in
	// their local headers; a sheet of a million rows is a few hundred MB.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if err := f.SetSheetName("Sheet1", ExportSheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(ExportSheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxRows{f: f, sw: sw, next: 1}, nil
}

func (x *xlsxRows) write(row []string) error {
	x.buf = x.buf[:0]
	for i, cell := range row {
		x.buf = append(x.buf, x.cell(i, cell))
	}
	name, err := excelize.CoordinatesToCellName(1, x.next)
	if err != nil {
		return err
	}
	x.next++
	return x.sw.SetRow(name, x.buf)
}

// cell types v: a number when the column is numericColumns' and this is
// not the header, a string (inlineStr) otherwise.
func (x *xlsxRows) cell(col int, v string) any {
	if x.next > 1 && numericColumns[col] && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	}
	return v
}

func (x *xlsxRows) close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteToBuffer() // through the zip writer set in newXLSXRows
	return err
}
