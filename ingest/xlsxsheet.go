package ingest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// sheetReader streams a sheet's rows for readTable.
type sheetReader struct {
	wb     *workbook
	x      *xmlStream
	inData bool // in <sheetData>
	row    int  // the last row number
	idCol  int  // the id_number column, once the header is read (-1 before)
	cells  []string
	text   []byte
}

// next returns the next row with its number, a row error (a cell over the
// limits, an unknown shared string) or a fatal one; io.EOF after the last.
func (s *sheetReader) next() ([]string, int, error, error) {
	for {
		t, err := s.x.next()
		if err != nil {
			return nil, 0, nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "dimension" && !s.inData:
				if err := s.checkDimension(attr(t, "ref")); err != nil {
					return nil, 0, nil, err
				}
			case t.Name.Local == "sheetData":
				s.inData = true
			case t.Name.Local == "row" && s.inData:
				cells, line, rowErr, err := s.readRow(t)
				if s.idCol < 0 && err == nil && rowErr == nil && !blank(cells) {
					s.idCol = columnIndex(cells, "id_number") // the header
				}
				return cells, line, rowErr, err
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return nil, 0, nil, io.EOF
			}
		}
	}
}

// checkDimension refuses a sheet that declares more rows than a sheet can
// have (the declaration may be missing or wrong: rows are counted anyway).
func (s *sheetReader) checkDimension(ref string) error {
	_, last, _ := strings.Cut(ref, ":")
	if last == "" {
		last = ref
	}
	digits := strings.TrimLeft(strings.ReplaceAll(last, "$", ""), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	if row, err := strconv.Atoi(digits); err == nil && row > s.wb.lim.SheetRows {
		return fmt.Errorf("the sheet declares %d rows, at most %d", row, s.wb.lim.SheetRows)
	}
	return nil
}

// readRow reads the cells of the row that starts with start.
func (s *sheetReader) readRow(start xml.StartElement) ([]string, int, error, error) {
	lim := s.wb.lim
	s.row++
	if v := attr(start, "r"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, 0, nil, fmt.Errorf("row number %s is not a number", quote(truncate(v, 20)))
		}
		s.row = n
	}
	if s.row > lim.SheetRows {
		return nil, 0, nil, fmt.Errorf("row %d: a sheet has at most %d rows", s.row, lim.SheetRows)
	}
	s.cells = s.cells[:0]
	var rowErr error
	rowBytes, col, depth := 0, -1, s.x.depth
	for {
		t, err := s.x.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, nil, fmt.Errorf("row %d: %w", s.row, err)
		}
		switch t := t.(type) {
		case xml.EndElement:
			if s.x.depth < depth {
				s.wb.m.row(rowBytes)
				if rowErr != nil {
					return nil, s.row, rowErr, nil
				}
				return s.cells, s.row, nil, nil
			}
		case xml.StartElement:
			if t.Name.Local != "c" || s.x.depth != depth+1 {
				continue
			}
			col++
			if ref := attr(t, "r"); ref != "" {
				c, _, err := excelize.CellNameToCoordinates(ref)
				if err != nil {
					return nil, 0, nil, fmt.Errorf("row %d: cell reference %s: not a cell", s.row, quote(truncate(ref, 20)))
				}
				col = c - 1
			}
			v, long, err := s.readCell(t, col)
			switch {
			case err != nil:
				return nil, 0, nil, fmt.Errorf("row %d: %w", s.row, err)
			case rowErr != nil:
				continue // the row is refused: its other cells are not kept
			case long:
				rowErr = tooLarge("", "a cell in column %s longer than %d bytes", columnName(col), lim.CellBytes)
				continue
			case v == "":
				continue
			case col >= lim.Columns:
				rowErr = tooLarge("", "a value in column %s, beyond the %d columns a manifest may have", columnName(col), lim.Columns)
				continue
			}
			if rowBytes += len(v); rowBytes > lim.RecordBytes {
				rowErr = tooLarge("", "row longer than %d bytes", lim.RecordBytes)
				continue
			}
			for len(s.cells) <= col {
				s.cells = append(s.cells, "")
			}
			s.cells[col] = v
		}
	}
}

// readCell reads a cell (<c>) to its end and returns its text (long: over
// the cell limit, not kept). A cell with an unknown shared string is an
// error of the whole sheet.
func (s *sheetReader) readCell(start xml.StartElement, col int) (v string, long bool, err error) {
	lim := s.wb.lim
	typ, style := attr(start, "t"), attr(start, "s")
	depth := s.x.depth
	s.text = s.text[:0]
	var inValue, inText, inPhonetic int
	for {
		t, err := s.x.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", false, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				inValue++
			case "t":
				inText++
			case "rPh":
				inPhonetic++
			}
		case xml.EndElement:
			if s.x.depth < depth {
				if long {
					return "", true, nil
				}
				return s.value(typ, style, col)
			}
			switch t.Name.Local {
			case "v":
				inValue--
			case "t":
				inText--
			case "rPh":
				inPhonetic--
			}
		case xml.CharData:
			keep := inValue > 0 && typ != "inlineStr" || inText > 0 && inPhonetic == 0 && typ == "inlineStr"
			if keep && !long {
				if len(s.text)+len(t) > lim.CellBytes {
					long = true
				} else {
					s.text = append(s.text, t...)
				}
			}
		}
	}
}

// value is a cell's text by its type: a shared string, an inline string,
// a boolean as TRUE or FALSE, a number or date as excelize formats it with
// the cell's style (an id number as a number in scientific notation).
func (s *sheetReader) value(typ, style string, col int) (string, bool, error) {
	raw := string(s.text)
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return "", false, fmt.Errorf("cell %s%d: shared string %s is not a number", columnName(col), s.row, quote(truncate(raw, 20)))
		}
		v, long, ok := s.wb.sst.get(i)
		if !ok {
			return "", false, fmt.Errorf("cell %s%d: no shared string %d", columnName(col), s.row, i)
		}
		return v, long, nil
	case "inlineStr", "str", "e", "d":
		return raw, false, nil
	case "b":
		switch raw {
		case "1":
			return "TRUE", false, nil
		case "0":
			return "FALSE", false, nil
		}
		return raw, false, nil
	}
	if raw == "" {
		return "", false, nil
	}
	if col == s.idCol {
		// Excel keeps 15 significant digits: an 18-digit id number in a
		// number cell is damaged however it is shown.
		if x, err := strconv.ParseFloat(raw, 64); err == nil {
			return strconv.FormatFloat(x, 'E', 5, 64), false, nil
		}
		return raw, false, nil
	}
	xf, _ := strconv.Atoi(style)
	v, err := s.wb.formatNumber(raw, xf)
	return v, false, err
}

// columnName is a 0-based column's letters (A, B, … AA).
func columnName(col int) string {
	name, err := excelize.ColumnNumberToName(col + 1)
	if err != nil {
		return strconv.Itoa(col + 1)
	}
	return name
}

// numberFormats formats numbers as Excel shows them, with excelize's
// formatter: it has no function for a value and a format, so the value is
// set on the one cell of a workbook of its own with the style's number
// format and read back.
type numberFormats struct {
	f      *excelize.File
	ids    []int          // number format id of each cell style of the manifest's workbook
	codes  map[int]string // its custom number formats
	styles map[int]int    // cell style → style of the one-cell workbook
}

// maxStyles bounds the cell styles and number formats read (Excel allows
// 64,000 cell styles).
const maxStyles = 1 << 16

// formatNumber returns raw formatted with cell style xf.
func (wb *workbook) formatNumber(raw string, xf int) (out string, err error) {
	if wb.formats == nil {
		if wb.formats, err = wb.loadStyles(); err != nil {
			return "", err
		}
	}
	nf := wb.formats
	style, ok := nf.styles[xf]
	if !ok {
		style = 0
		if xf > 0 && xf < len(nf.ids) && nf.ids[xf] != 0 {
			id := nf.ids[xf]
			st := &excelize.Style{NumFmt: id}
			if code, custom := nf.codes[id]; custom {
				st = &excelize.Style{CustomNumFmt: &code}
			}
			if s, err := nf.f.NewStyle(st); err == nil {
				style = s
			}
		}
		nf.styles[xf] = style
	}
	// excelize's formatter parses format codes written by whoever made the
	// file; a panic there must not stop intake: the value stays as stored.
	defer func() {
		if recover() != nil {
			out = raw
		}
	}()
	if nf.f.SetCellDefault("Sheet1", "A1", raw) != nil || nf.f.SetCellStyle("Sheet1", "A1", "A1", style) != nil {
		return raw, nil
	}
	v, err := nf.f.GetCellValue("Sheet1", "A1")
	if err != nil {
		return raw, nil
	}
	return v, nil
}

// loadStyles reads the cell styles' number formats from the styles part
// and makes the one-cell workbook.
func (wb *workbook) loadStyles() (*numberFormats, error) {
	nf := &numberFormats{f: excelize.NewFile(), codes: map[int]string{}, styles: map[int]int{}}
	if wb.date1904 {
		yes := true
		if err := nf.f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
			return nil, fmt.Errorf("number formats: %w", err)
		}
	}
	if wb.styles == "" || wb.files[strings.ToLower(wb.styles)] == nil {
		return nf, nil
	}
	x, closePart, err := wb.part(wb.styles)
	if err != nil {
		return nil, fmt.Errorf("styles: %w", err)
	}
	defer closePart()
	inCellXfs := false
	for {
		t, err := x.next()
		if errors.Is(err, io.EOF) {
			return nf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("styles: %w", err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "numFmt":
				id, err := strconv.Atoi(attr(t, "numFmtId"))
				code := attr(t, "formatCode")
				if err == nil && len(nf.codes) < maxStyles && len(code) <= 255 { // Excel's longest format code
					nf.codes[id] = code
				}
			case "cellXfs":
				inCellXfs = true
			case "xf":
				if inCellXfs && len(nf.ids) < maxStyles {
					id, _ := strconv.Atoi(attr(t, "numFmtId"))
					nf.ids = append(nf.ids, id)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "cellXfs" {
				inCellXfs = false
			}
		}
	}
}

// columnIndex is the position of column name in a header row, or len(row)
// (past the end) when absent.
func columnIndex(row []string, name string) int {
	for i, h := range row {
		if strings.ToLower(strings.TrimSpace(h)) == name {
			return i
		}
	}
	return len(row)
}
