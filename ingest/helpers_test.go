package ingest_test

import (
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ingest"
)

const (
	id18     = "11010519491231002X"
	id18b    = "440106199001011235"
	id15     = "110105491231002" // 18-character form: id18
	badCheck = "110105194912310021"
	name     = "张三"
	puaName  = "张\uE000"
	face     = "s3://media/p/face.jpg"
	card1    = "s3://media/p/card1.jpg"
	card2    = "file:///data/p/card2.jpg"
	video    = "s3://media/p/v.mp4"
)

// parseAll parses a manifest held in a string.
func parseAll(t *testing.T, manifest string, f ingest.Format) []ingest.Row {
	t.Helper()
	var rows []ingest.Row
	if err := ingest.Parse(strings.NewReader(manifest), f, func(r ingest.Row) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return rows
}

// code is the row's error code, "" for a valid row.
func code(r ingest.Row) string {
	if r.Err == nil {
		return ""
	}
	return r.Err.Code
}

// noPII fails if a row error mentions a raw id number or name.
func noPII(t *testing.T, r ingest.Row, raw ...string) {
	t.Helper()
	if r.Err == nil {
		return
	}
	for _, s := range raw {
		if len([]rune(s)) >= 2 && strings.Contains(r.Err.Error(), s) {
			t.Errorf("line %d: error %q repeats %q", r.Line, r.Err.Error(), s)
		}
	}
}
