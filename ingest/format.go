// Package ingest reads manifests (CSV with a header row, or JSON Lines) of
// records of any of the six shapes, validates every row before anything is
// stored, and submits a manifest as a batch: good rows pending, bad rows
// stored with their reason so that nothing is lost.
//
// Parsing streams: memory grows with the number of distinct refs (kept to
// refuse duplicates), not with the rows themselves.
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
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

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

// DetectFormat decides by the extension of name (.csv is CSV; .jsonl,
// .ndjson and .json are JSON Lines), else by the first non-space byte of
// head after any BOM ('{' means JSON Lines), else CSV.
func DetectFormat(name string, head []byte) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return JSONL
	}
	return CSV
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
