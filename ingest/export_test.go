package ingest

import "io"

// Held is what a reader held at once, by its own accounting.
type Held struct {
	Record   int64 // the largest row buffer
	Token    int64 // the largest XML token let through
	Workbook int64 // workbook bytes held whole (the file, its shared strings)
}

// ReadHeld is Read, returning what the reader held.
func ReadHeld(r io.Reader, o ReadOptions, fn func(Fields) error) (Info, Held, error) {
	var m meter
	o.meter = &m
	info, err := Read(r, o, fn)
	return info, Held{Record: m.record, Token: m.token, Workbook: m.held}, err
}

// CSVRecord is a record as readCSV cuts and splits it.
type CSVRecord struct {
	Line   int
	Fields []string
	Err    error
}

// CSVRecords reads delimited text (already UTF-8) as readCSV does.
func CSVRecords(r io.Reader, delim rune, lim Limits) ([]CSVRecord, error) {
	lim = lim.withDefaults()
	next := csvRecords(r, delim, &lim, nil)
	var out []CSVRecord
	for {
		rec, line, rowErr, err := next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, CSVRecord{Line: line, Fields: append([]string(nil), rec...), Err: rowErr})
	}
}
