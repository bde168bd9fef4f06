// Package ingest reads manifests (CSV or TSV with a header row in UTF-8,
// UTF-16 or GB18030, an .xlsx sheet, JSON Lines or a JSON array) of records
// of any of the six shapes, validates every row before anything is stored,
// and submits a manifest as a batch: good rows pending, bad rows stored with
// their reason so that nothing is lost. Columns it does not know are the
// customer's: they are kept per record as opaque metadata.
//
// Parsing streams and every reader is bounded (Limits): memory grows with
// the number of rows (16 bytes a ref, kept to refuse duplicates), not with
// what a row, a cell or the file holds (an .xlsx file, at most
// Limits.XLSXBytes, is held in memory: a zip is read from its end).
package ingest

import (
	"bytes"
	"path"
	"strings"
)

// Format is a manifest format.
type Format string

// Manifest formats.
const (
	CSV   Format = "csv"   // delimited text with a header row: comma, semicolon or tab (sniffed)
	JSONL Format = "jsonl" // one JSON object per line
	JSON  Format = "json"  // a JSON array of objects (or JSON Lines in a .json file)
	XLSX  Format = "xlsx"  // an Excel workbook: the first sheet, or the one named
)

// Formats lists the formats in the order -format names them.
var Formats = []Format{CSV, JSONL, JSON, XLSX}

// Columns are the manifest's columns (CSV header names, JSON keys).
var Columns = []string{"ref", "shape", "name", "id_number", "idcard_image1", "idcard_image2", "face_image", "video",
	"actions", "nod_threshold", "detail", "crop"}

var knownColumn = func() map[string]bool {
	m := make(map[string]bool, len(Columns))
	for _, c := range Columns {
		m[c] = true
	}
	return m
}()

var zipMagic = []byte("PK\x03\x04")

// DetectFormat decides by the extension of name (.csv, .tsv and .txt are
// delimited text; .jsonl and .ndjson JSON Lines; .json a JSON array or JSON
// Lines; .xlsx a workbook), else by head, the manifest's first bytes: a zip
// archive is a workbook, '[' after any BOM and spaces a JSON array, '{' JSON
// Lines, anything else delimited text.
func DetectFormat(name string, head []byte) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".tsv", ".txt":
		return CSV
	case ".jsonl", ".ndjson":
		return JSONL
	case ".json":
		return JSON
	case ".xlsx", ".xlsm":
		return XLSX
	}
	if bytes.HasPrefix(head, zipMagic) {
		return XLSX
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '[':
		return JSON
	case len(t) > 0 && t[0] == '{':
		return JSONL
	}
	return CSV
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
