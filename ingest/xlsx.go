package ingest

import (
	"errors"
	"fmt"
	"io"
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
	n := 0
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
		return cols, n, nil, nil
	}
	err = readTable(next, info, fn)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
