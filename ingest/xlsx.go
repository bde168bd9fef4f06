package ingest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// maxXLSXBytes bounds a workbook and its unzipped sheets. Sheets are kept in
// memory (excelize would otherwise spill large ones, in plain text, to
// temporary files).
const maxXLSXBytes = 1 << 30

// readXLSX reads sheet (the first when empty) of the workbook in r, row by
// row, each cell as the text Excel shows (so an id number typed as text
// stays whole; one stored as a number shows as 1.10101E+17 and is refused).
func readXLSX(r io.Reader, sheet string, info *Info, fn func(Fields) error) error {
	f, err := excelize.OpenReader(io.LimitReader(r, maxXLSXBytes), excelize.Options{
		UnzipSizeLimit: maxXLSXBytes, UnzipXMLSizeLimit: maxXLSXBytes})
	if err != nil {
		return fmt.Errorf("manifest: not a readable .xlsx workbook: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if sheet == "" && len(sheets) > 0 {
		sheet = sheets[0]
	}
	found := false
	for _, s := range sheets {
		found = found || s == sheet
	}
	if !found {
		return fmt.Errorf("manifest: workbook has no sheet %q (sheets: %s)", sheet, strings.Join(sheets, ", "))
	}
	info.Sheet = sheet
	rows, err := f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("manifest: sheet %q: %w", sheet, err)
	}
	defer rows.Close()
	n, idCol := 0, -1
	next := func() ([]string, int, error, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return nil, 0, nil, err
			}
			return nil, 0, nil, io.EOF
		}
		n++
		cols, err := rows.Columns()
		if err != nil {
			return nil, n, fmt.Errorf("row %d: %w", n, err), nil
		}
		if idCol < 0 {
			if !blank(cols) {
				idCol = columnIndex(cols, "id_number")
			}
		} else if idCol < len(cols) {
			cols[idCol] = numericID(f, sheet, idCol, n, cols[idCol])
		}
		return cols, n, nil, nil
	}
	err = readTable(next, true, info, fn)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
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

// numericID returns an id number stored as a number cell in scientific
// notation, so that it is refused for its lost digits (Excel keeps 15
// significant digits; an 18-digit id number in a number cell is damaged
// however it is displayed). Text cells are returned as they are.
func numericID(f *excelize.File, sheet string, col, row int, v string) string {
	cell, err := excelize.CoordinatesToCellName(col+1, row)
	if err != nil || v == "" {
		return v
	}
	typ, err := f.GetCellType(sheet, cell)
	if err != nil || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
		return v
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(x, 'E', 5, 64)
}
