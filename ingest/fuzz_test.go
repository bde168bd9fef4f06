package ingest_test

// The manifest readers under fuzzing, with limits a thousand times smaller
// than the defaults, so that short inputs reach them: nothing may panic, no
// row passed on may exceed them, and what a reader holds (its own
// accounting) and allocates stays within them. make test runs each for a
// few seconds; longer, by hand:
//
//	go test -run '^$' -fuzz '^FuzzCSV$' -fuzztime 10m ./ingest/
//
// (FuzzJSONLines, FuzzJSONArray, FuzzXLSX and FuzzDecode alike). A new
// input that widens coverage is minimised first, which for a workbook takes
// a while: the short runs pass -fuzzminimizetime 2s.

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/ivsbatch/ivsbatch/ingest"
)

var fuzzLimits = ingest.Limits{
	Rows: 1000, TooLargeRows: 100,
	RecordBytes: 512, CellBytes: 64, RefBytes: 32, Columns: 16, ColumnNameBytes: 32, MetadataBytes: 256,
	XLSXBytes: 64 << 10, XLSXEntries: 64, XLSXUnzippedBytes: 256 << 10, XLSXRatio: 100, XLSXPartBytes: 16 << 10,
	SharedStringsBytes: 16 << 10, SharedStrings: 1000, Sheets: 4, SheetRows: 1000, XMLTokenBytes: 1 << 10, XMLDepth: 16,
}

// fuzzRead reads data as format f under fuzzLimits and checks the bounds.
func fuzzRead(t *testing.T, data []byte, f ingest.Format) {
	lim := fuzzLimits
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, held, err := ingest.ReadHeld(bytes.NewReader(data), ingest.ReadOptions{Format: f, Limits: lim}, func(fl ingest.Fields) error {
		if len(fl.Values)+len(fl.Extra) > lim.Columns {
			t.Errorf("line %d: %d values passed on, at most %d columns", fl.Line, len(fl.Values)+len(fl.Extra), lim.Columns)
		}
		total := 0
		for _, m := range []map[string]string{fl.Values, fl.Extra} {
			for k, v := range m {
				total += len(k) + len(v)
			}
		}
		if total > lim.RecordBytes*2 {
			t.Errorf("line %d: %d bytes passed on, the row limit is %d", fl.Line, total, lim.RecordBytes)
		}
		row := lim.Validate(fl)
		if row.Err != nil && !utf8.ValidString(row.Err.Error()) {
			t.Errorf("line %d: message not UTF-8: %q", fl.Line, row.Err.Error())
		}
		if row.Err != nil && strings.ContainsAny(row.Err.Error(), "\x1b\u009b\u202e\r\n") {
			t.Errorf("line %d: message holds a control character: %q", fl.Line, row.Err.Error())
		}
		if len(row.Input.Metadata) > lim.MetadataBytes || len(row.Input.Ref) > max(lim.RefBytes, len("line-")+7+len("#line-")+7) {
			t.Errorf("line %d: stored metadata %d bytes, ref %d bytes", fl.Line, len(row.Input.Metadata), len(row.Input.Ref))
		}
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil && strings.ContainsAny(err.Error(), "\x1b\u009b\u202e") {
		t.Errorf("manifest error holds a control character: %q", err.Error())
	}
	if held.Record > 2*int64(lim.RecordBytes)+int64(lim.CellBytes) {
		t.Errorf("a row buffer reached %d bytes, limit %d", held.Record, lim.RecordBytes)
	}
	if held.Token > int64(lim.XMLTokenBytes) {
		t.Errorf("an XML token of %d bytes, limit %d", held.Token, lim.XMLTokenBytes)
	}
	if held.Workbook > lim.XLSXBytes+lim.SharedStringsBytes+8*int64(lim.SharedStrings) {
		t.Errorf("workbook held %d bytes, limits %d + %d", held.Workbook, lim.XLSXBytes, lim.SharedStringsBytes)
	}
	// Buffers, decoders and excelize's one-cell workbook take a few
	// megabytes whatever the input; the rest must stay in proportion to it.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20+uint64(256*len(data)) {
		t.Errorf("%d bytes of input allocated %d MiB", len(data), alloc>>20)
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range csvSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, ingest.CSV)
		sameRecordsAsEncodingCSV(t, data)
	})
}

// sameRecordsAsEncodingCSV checks that cutting text into records before
// encoding/csv splits them changes nothing while records are under the
// limit: the same records, fields, errors and lines as encoding/csv reading
// the whole text.
func sameRecordsAsEncodingCSV(t *testing.T, data []byte) {
	for _, comma := range []rune{',', ';'} {
		got, err := ingest.CSVRecords(bytes.NewReader(data), comma, ingest.Limits{})
		if err != nil {
			t.Fatalf("records: %v", err)
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.Comma, cr.FieldsPerRecord = comma, -1
		var want []ingest.CSVRecord
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				want = append(want, ingest.CSVRecord{Line: pe.StartLine, Err: pe.Err})
				continue
			}
			if err != nil {
				t.Fatalf("encoding/csv: %v", err)
			}
			line, _ := cr.FieldPos(0)
			want = append(want, ingest.CSVRecord{Line: line, Fields: rec})
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d records, encoding/csv %d:\n%+v\n%+v", comma, len(got), len(want), got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Line != w.Line || fmt.Sprint(g.Err) != fmt.Sprint(w.Err) || w.Err == nil && !slices.Equal(g.Fields, w.Fields) {
				t.Fatalf("%q record %d: %+v, encoding/csv %+v", comma, i, g, w)
			}
		}
	}
}

func FuzzJSONLines(f *testing.F) {
	for _, s := range jsonSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, ingest.JSONL) })
}

func FuzzJSONArray(f *testing.F) {
	for _, s := range jsonSeeds(f, false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, ingest.JSON) })
}

func FuzzXLSX(f *testing.F) {
	for _, s := range xlsxSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, ingest.XLSX) })
}

// FuzzDecode checks the text decoding: the GBK/GB18030 decoder reads like
// x/text's except for the user-defined areas (U+FFFD there, Private Use
// Area code points here), and decoding allocates in proportion to nothing.
func FuzzDecode(f *testing.F) {
	for _, s := range csvSeeds(f) {
		for enc := range uint8(5) {
			f.Add(s, enc)
		}
	}
	f.Add([]byte{0xaa, 0xa1, 0x81, 0x30, 0x81, 0x30, 0xfe, 0xfe, 0xa1, 0x40, 0xa7, 0xa0, 0x81}, uint8(1))
	encodings := []string{"", "gbk", "gb18030", "utf-16le", "utf-8"}
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		name := encodings[int(enc)%len(encodings)]
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, got, err := ingest.Decode(bytes.NewReader(data), name)
		if err != nil {
			t.Fatalf("Decode(%q): %v", name, err)
		}
		n, err := io.Copy(io.Discard, r)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("decode as %s: %v", got, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("decoding %d bytes into %d allocated %d KiB", len(data), n, alloc>>10)
		}
		if got != "gbk" && got != ingest.EncGB18030 {
			return
		}
		r, _, _ = ingest.Decode(bytes.NewReader(data), name)
		mine, _ := io.ReadAll(r)
		var dec transform.Transformer = simplifiedchinese.GBK.NewDecoder()
		if got == ingest.EncGB18030 {
			dec = simplifiedchinese.GB18030.NewDecoder()
		}
		if name != "" {
			dec = unicode.BOMOverride(dec) // as Decode does for a forced encoding
		}
		theirs, _, err := transform.Bytes(dec, data)
		if err != nil {
			t.Fatalf("x/text: %v", err)
		}
		if a, b := userDefinedAsFFFD(string(mine)), userDefinedAsFFFD(string(theirs)); a != b {
			t.Errorf("decoded %q, x/text %q", a, b)
		}
	})
}

// userDefinedAsFFFD writes the Private Use Area code points of GBK's
// user-defined areas (U+E000–U+E765) as U+FFFD.
func userDefinedAsFFFD(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xe000 && r <= 0xe765 {
			return '\uFFFD'
		}
		return r
	}, s)
}

// csvSeeds are delimited manifests written by encoding/csv (quotes, commas
// and newlines in cells), re-encoded as GB18030 by iconv and as UTF-16LE by
// x/text's encoder, with semicolons and tabs.
func csvSeeds(tb testing.TB) [][]byte {
	rows := [][]string{
		{"ref", "shape", "name", "id_number", "face_image", "备注"},
		{"a", "name_face_image", name, id18, face, "VIP, 周末"},
		{"b\nc", "name", "张\uE000", id15, "", `"quoted"`},
		{"", "", "李四", "1.10105E+17", "", "=HYPERLINK(\"x\")"},
		{"d", "card", "", "", "", "\x1b]0;title\x07"},
	}
	var out [][]byte
	for _, comma := range []rune{',', ';', '\t'} {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Comma, w.UseCRLF = comma, comma == ';'
		if err := w.WriteAll(rows); err != nil {
			tb.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	out = append(out, append([]byte("\uFEFF"), out[0]...), []byte("ref,name,id_number\n\"unclosed,张三,"+id18+"\n"))
	cmd := exec.Command("iconv", "-f", "UTF-8", "-t", "GB18030")
	cmd.Stdin = bytes.NewReader(out[0])
	gbk, err := cmd.Output()
	if err != nil {
		tb.Fatalf("iconv (libc-bin): %v", err)
	}
	utf16, _, err := transform.Bytes(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder(), out[2])
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, gbk, utf16)
}

// jsonSeeds are manifests written by encoding/json: objects one per line, or
// an array.
func jsonSeeds(tb testing.TB, lines bool) [][]byte {
	items := []map[string]any{
		{"ref": "a", "name": name, "id_number": id18, "face_image": face, "detail": true},
		{"ref": "b", "idcard_image1": card1, "video": video, "actions": []int{1, 3}, "nod_threshold": 15},
		{"ref": "c\u202e", "tags": []string{"vip"}, "nested": map[string]any{"k": []any{1, nil, "x"}}},
		{},
	}
	var b bytes.Buffer
	if lines {
		enc := json.NewEncoder(&b)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				tb.Fatal(err)
			}
		}
		return [][]byte{b.Bytes(), []byte(`{"ref":"x"` + "\n" + `[1,2]` + "\n")}
	}
	out, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	compact, _ := json.Marshal(items)
	return [][]byte{out, compact, []byte(`[{"ref":"a"} {"ref":"b"}]`), []byte(`[1, "x", null, [{"ref":1}]]`)}
}

// xlsxSeeds are workbooks written by excelize, and the same whose parts
// archive/zip stores uncompressed (so that mutations reach the XML).
func xlsxSeeds(tb testing.TB) [][]byte {
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"ref", "name", "id_number", "nod_threshold", "开户日期"},
		{"x1", name, id18, 30, 45293},
		{"x2", "李四", 110105194912310021, "", true},
	}
	for i, r := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			tb.Fatal(err)
		}
	}
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.SetCellStyle("Sheet1", "E2", "E2", date); err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		tb.Fatal(err)
	}
	return [][]byte{b.Bytes(), restore(tb, b.Bytes(), zip.Store)}
}

// restore rewrites a zip archive with every entry compressed by method,
// without the parts intake does not read (document properties, theme).
func restore(tb testing.TB, b []byte, method uint16) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, e := range zr.File {
		if strings.HasPrefix(e.Name, "docProps/") || strings.HasPrefix(e.Name, "xl/theme/") {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		rc, err := e.Open()
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(w, rc); err != nil {
			tb.Fatal(err)
		}
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
