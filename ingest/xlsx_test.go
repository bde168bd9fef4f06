package ingest_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/ingest"
)

// workbookBytes writes f to memory.
func workbookBytes(t *testing.T, f *excelize.File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readSheet reads a workbook with ingest and returns its rows' raw values by
// sheet row (columns of the header; the customer's as they are).
func readSheet(t *testing.T, b []byte, sheet string) (map[int]ingest.Fields, ingest.Info, error) {
	t.Helper()
	rows := map[int]ingest.Fields{}
	info, err := ingest.Read(bytes.NewReader(b), ingest.ReadOptions{Format: ingest.XLSX, Sheet: sheet}, func(f ingest.Fields) error {
		rows[f.Line] = f
		return nil
	})
	return rows, info, err
}

func TestXLSXReadsWhatExcelizeReads(t *testing.T) {
	t.Parallel()
	// Every kind of cell excelize writes; the streaming reader must show
	// each as excelize's own reader does (except an id number typed as a
	// number, which is shown in scientific notation to be refused).
	f := excelize.NewFile()
	defer f.Close()
	sh := "名单"
	if err := f.SetSheetName("Sheet1", sh); err != nil {
		t.Fatal(err)
	}
	if _, err := f.NewSheet("second"); err != nil {
		t.Fatal(err)
	}
	header := []any{"ref", "name", "id_number", "nod_threshold", "开户日期", "时间", "比例", "金额", "会员", "备注", "公式", "大数"}
	rows := [][]any{
		header,
		{"x1", "张三", id18, 30, 45293, 45293.75, 0.125, 1234567.891, true, "富文本", "", 1e20},
		{"x2", "李四", 110105194912310021, 15.5, 1, 0.5, 1, -42, false, "", "", 0.30000000000000004},
		{},
		{"x3", "王五", "440106 19900101 1235", "", "", "", "", "", "", "VIP, 周末", "", 12345678901234567},
	}
	for i, row := range rows {
		if err := f.SetSheetRow(sh, fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetCellRichText(sh, "J2", []excelize.RichTextRun{{Text: "富"}, {Text: "文本", Font: &excelize.Font{Bold: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellFormula(sh, "K2", "D2*2"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellValue(sh, "L7", "后面一行"); err != nil { // a gap: rows 6 and 7
		t.Fatal(err)
	}
	if err := f.SetCellValue(sh, "A7", "x4"); err != nil {
		t.Fatal(err)
	}
	custom := "yyyy\"年\"m\"月\"d\"日\""
	for cell, st := range map[string]*excelize.Style{
		"E2": {NumFmt: 14}, "E3": {NumFmt: 14}, "F2": {NumFmt: 22}, "F3": {NumFmt: 20}, "G2": {NumFmt: 10}, "G3": {NumFmt: 9},
		"H2": {NumFmt: 4}, "H3": {CustomNumFmt: &custom}, "D3": {NumFmt: 2},
	} {
		id, err := f.NewStyle(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellStyle(sh, cell, cell, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetSheetRow("second", "A1", &[]any{"ref", "idcard_image1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSheetRow("second", "A2", &[]any{"s1", card1}); err != nil {
		t.Fatal(err)
	}
	for _, date1904 := range []bool{false, true} {
		t.Run(fmt.Sprintf("date1904=%t", date1904), func(t *testing.T) {
			if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
				t.Fatal(err)
			}
			b := workbookBytes(t, f)
			got, info, err := readSheet(t, b, "")
			if err != nil {
				t.Fatal(err)
			}
			if info.Sheet != sh {
				t.Errorf("sheet %q", info.Sheet)
			}
			back, err := excelize.OpenReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			want, err := back.GetRows(sh)
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, got, want)
			if v := got[2].Extra["开户日期"]; !strings.Contains(v, "24") && !strings.Contains(v, "28") {
				t.Errorf("a date cell read as %q", v) // 2024 (or 2028 in the 1904 system)
			}
		})
	}
	b := workbookBytes(t, f)
	got, info, err := readSheet(t, b, "second")
	if err != nil || info.Sheet != "second" || got[2].Values["idcard_image1"] != card1 {
		t.Fatalf("second sheet: %v %+v %v", got, info, err)
	}
	if _, _, err := readSheet(t, b, "nope"); err == nil || !strings.Contains(err.Error(), `no sheet "nope" (sheets: "名单", "second")`) {
		t.Errorf("unknown sheet: %v", err)
	}
}

// compareRows checks ingest's rows against excelize's GetRows (header first).
func compareRows(t *testing.T, got map[int]ingest.Fields, want [][]string) {
	t.Helper()
	header := want[0]
	n := 0
	for i, row := range want[1:] {
		line := i + 2
		if len(row) == 0 {
			continue
		}
		n++
		f, ok := got[line]
		if !ok {
			t.Errorf("row %d missing", line)
			continue
		}
		if f.Err != nil {
			t.Errorf("row %d: %v", line, f.Err)
			continue
		}
		for j, h := range header {
			w := ""
			if j < len(row) {
				w = row[j]
			}
			g, ok := f.Values[h]
			if !ok {
				g = f.Extra[h]
			}
			if h == "id_number" && strings.Contains(w, "E+") {
				continue // excelize: 1.10105194912310E+17; ingest: 1.10105E+17, refused either way
			}
			if g != w {
				t.Errorf("row %d %s: %q, excelize reads %q", line, h, g, w)
			}
		}
	}
	if len(got) != n {
		t.Errorf("%d rows read, excelize has %d", len(got), n)
	}
}

func TestXLSXStreamWriterInlineStrings(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{{"ref", "name", "id_number", "备注"}, {"s1", "张三", id18, "甲"}, {"s2", "李四", id18b, 7}}
	for i, r := range rows {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+1), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	b := workbookBytes(t, f)
	if !bytes.Contains(unzipped(t, b, "xl/worksheets/sheet1.xml"), []byte(`t="inlineStr"`)) {
		t.Fatal("the stream writer wrote no inline strings: the test tests nothing")
	}
	got, _, err := readSheet(t, b, "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want, err := back.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, got, want)
}

// unzipped returns one entry of a zip archive.
func unzipped(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// baseWorkbook is a small manifest written by excelize.
func baseWorkbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range [][]any{{"ref", "name", "id_number"}, {"a", name, id18}, {"b", "李四", id18b}} {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	return workbookBytes(t, f)
}

// rezip copies the zip archive b entry by entry (compressed bytes as they
// are), letting edit replace or drop an entry (return true when it wrote
// it) and add write more at the end, as someone making a hostile file
// from a real one would.
func rezip(t *testing.T, b []byte, edit func(zw *zip.Writer, f *zip.File) bool, add func(zw *zip.Writer)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if edit != nil && edit(zw, f) {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if add != nil {
		add(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// deflated compresses data as a zip writer does (best compression).
func deflated(t *testing.T, data io.Reader) (raw []byte, crc uint32, n int64) {
	t.Helper()
	var out bytes.Buffer
	fw, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE()
	if n, err = io.Copy(io.MultiWriter(fw, h), data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), h.Sum32(), n
}

// rawEntry writes pre-compressed bytes under a header that says what the
// maker wants it to say.
func rawEntry(t *testing.T, zw *zip.Writer, name string, raw []byte, crc uint32, claimed uint64) {
	t.Helper()
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(raw)), UncompressedSize64: claimed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
}

// sstXML streams a shared-strings part of n one-letter strings (17 bytes
// each), the markup Excel writes.
func sstXML(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var b bytes.Buffer
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
			`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, n, n)
		for i := range n {
			b.WriteString("<si><t>x</t></si>")
			if i%4096 == 0 {
				if _, err := pw.Write(b.Bytes()); err != nil {
					return
				}
				b.Reset()
			}
		}
		b.WriteString("</sst>")
		_, _ = pw.Write(b.Bytes())
		pw.Close()
	}()
	return pr
}

// readWorkbookFile parses a workbook written to disk and returns the rows,
// the error and the bytes allocated.
func readWorkbookFile(t *testing.T, b []byte) ([]ingest.Row, uint64, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.xlsx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return parseFile(t, p, ingest.ReadOptions{})
}

func TestXLSXBombs(t *testing.T) {
	base := baseWorkbook(t)
	isSST := func(f *zip.File) bool { return strings.EqualFold(f.Name, "xl/sharedStrings.xml") }
	t.Run("shared strings inflating to 51 MB", func(t *testing.T) {
		raw, crc, n := deflated(t, sstXML(3_000_000))
		b := rezip(t, base, func(zw *zip.Writer, f *zip.File) bool {
			if isSST(f) {
				rawEntry(t, zw, f.Name, raw, crc, uint64(n))
			}
			return isSST(f)
		}, nil)
		t.Logf("%d KB workbook, shared strings %d MB", len(b)>>10, n>>20)
		rows, alloc, err := readWorkbookFile(t, b)
		if err == nil || !strings.Contains(err.Error(), "zip bomb") || len(rows) != 0 {
			t.Fatalf("err %v after %d rows", err, len(rows))
		}
		if alloc > uint64(len(b))+allocBound {
			t.Errorf("refusing it allocated %d MiB", alloc>>20)
		}
	})
	t.Run("2.5 MB declaring 23 GB", func(t *testing.T) {
		b := rezip(t, base, nil, func(zw *zip.Writer) {
			for i := range 10 {
				raw := make([]byte, 250_000)
				_, _ = rand.Read(raw)
				rawEntry(t, zw, fmt.Sprintf("xl/media/image%d.png", i), raw, 0, 2_300_000_000)
			}
		})
		rows, alloc, err := readWorkbookFile(t, b)
		if err == nil || !strings.Contains(err.Error(), "zip bomb") || len(rows) != 0 {
			t.Fatalf("err %v after %d rows", err, len(rows))
		}
		if alloc > uint64(len(b))+allocBound {
			t.Errorf("refusing it allocated %d MiB", alloc>>20)
		}
	})
	t.Run("600 MiB declared, each entry under the ratio", func(t *testing.T) {
		b := rezip(t, base, nil, func(zw *zip.Writer) {
			for i := range 10 {
				raw := make([]byte, 700_000)
				_, _ = rand.Read(raw)
				rawEntry(t, zw, fmt.Sprintf("xl/media/image%d.png", i), raw, 0, 60<<20)
			}
		})
		_, _, err := readWorkbookFile(t, b)
		if err == nil || !strings.Contains(err.Error(), "declares more than 512 MiB unzipped") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("shared strings inflating past their declared size", func(t *testing.T) {
		raw, crc, n := deflated(t, sstXML(1_000_000)) // 17 MB, declared as 1 MiB
		b := rezip(t, base, func(zw *zip.Writer, f *zip.File) bool {
			if isSST(f) {
				rawEntry(t, zw, f.Name, raw, crc, 1<<20)
			}
			return isSST(f)
		}, nil)
		t.Logf("%d KB workbook, shared strings %d MB declared as 1 MiB", len(b)>>10, n>>20)
		rows, alloc, err := readWorkbookFile(t, b)
		if err == nil || !strings.Contains(err.Error(), "shared strings") || len(rows) != 0 {
			t.Fatalf("err %v after %d rows", err, len(rows))
		}
		// encoding/xml allocates some 25 bytes per byte of such markup and
		// frees them at once: the 1 MiB declared costs about 26 MiB, the
		// 17 MB it holds would cost 400.
		if alloc > 64<<20 {
			t.Errorf("refusing it allocated %d MiB", alloc>>20)
		}
	})
	t.Run("ten thousand and one entries", func(t *testing.T) {
		b := rezip(t, base, nil, func(zw *zip.Writer) {
			for i := range 10_001 {
				if _, err := zw.Create(fmt.Sprintf("x/%d", i)); err != nil {
					t.Fatal(err)
				}
			}
		})
		if _, _, err := readWorkbookFile(t, b); err == nil || !strings.Contains(err.Error(), "zip entries, at most 10000") {
			t.Fatalf("err %v", err)
		}
	})
}

// sheetWith replaces the first sheet of the base workbook with xml.
func sheetWith(t *testing.T, xml string) []byte {
	t.Helper()
	return rezip(t, baseWorkbook(t), func(zw *zip.Writer, f *zip.File) bool {
		if f.Name != "xl/worksheets/sheet1.xml" {
			return false
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, xml); err != nil {
			t.Fatal(err)
		}
		return true
	}, nil)
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
	`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
	`<row r="1"><c r="A1" t="inlineStr"><is><t>ref</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c>` +
	`<c r="C1" t="inlineStr"><is><t>id_number</t></is></c></row>`

func inlineRow(r int, cells ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<row r="%d">`, r)
	for i, c := range cells {
		fmt.Fprintf(&b, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, r, c)
	}
	return b.String() + "</row>"
}

func TestXLSXCellsOverLimits(t *testing.T) {
	t.Parallel()
	t.Run("a cell over 4 KiB", func(t *testing.T) {
		b := sheetWith(t, sheetHead+inlineRow(2, "a", name, id18)+inlineRow(3, "long", strings.Repeat("张", 2000), id18)+
			inlineRow(4, "b", name, id18)+`<row r="5"><c r="A5" t="inlineStr"><is><t>far</t></is></c><c r="JA5"><v>1</v></c></row>`+
			"</sheetData></worksheet>")
		got := parseAll(t, string(b), ingest.XLSX)
		check(t, got, []want{{2, "a", "", ""}, {3, "line-3", ingest.CodeTooLarge, ""}, {4, "b", "", ""}, {5, "line-5", ingest.CodeTooLarge, ""}})
		if !strings.Contains(got[1].Err.Error(), "column B longer than 4096 bytes") || !strings.Contains(got[3].Err.Error(), "column JA, beyond the 256 columns") {
			t.Errorf("reasons %v | %v", got[1].Err, got[3].Err)
		}
	})
	t.Run("an XML text over 256 KiB", func(t *testing.T) {
		b := sheetWith(t, sheetHead+inlineRow(2, "a", strings.Repeat("x", 300<<10), id18)+"</sheetData></worksheet>")
		err := ingest.Parse(bytes.NewReader(b), ingest.XLSX, func(ingest.Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "an XML text or tag longer than 256 KiB") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("elements nested 100 deep", func(t *testing.T) {
		b := sheetWith(t, sheetHead+"<row r=\"2\">"+strings.Repeat("<x>", 100)+strings.Repeat("</x>", 100)+"</row></sheetData></worksheet>")
		err := ingest.Parse(bytes.NewReader(b), ingest.XLSX, func(ingest.Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "nested more than 64 deep") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a sheet declaring two million rows", func(t *testing.T) {
		b := sheetWith(t, strings.Replace(sheetHead, "<sheetData>", `<dimension ref="A1:C2000000"/><sheetData>`, 1)+"</sheetData></worksheet>")
		err := ingest.Parse(bytes.NewReader(b), ingest.XLSX, func(ingest.Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "declares 2000000 rows, at most 1048576") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestXLSXControlCharacters(t *testing.T) {
	t.Parallel()
	write := func(sheet, header string) []byte {
		f := excelize.NewFile()
		defer f.Close()
		if sheet != "Sheet1" {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range [][]any{{"ref", "name", "id_number", header}, {"a", name, id18, "x"}} {
			if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &r); err != nil {
				t.Fatal(err)
			}
		}
		return workbookBytes(t, f)
	}
	for _, c := range []struct{ what, sheet, header, want string }{
		{"sheet name", "名单\u202etxt.exe", "备注", `the sheet's name "名单\u202etxt.exe" holds a control character (U+202E)`},
		{"header", "Sheet1", "备\u009b2J注", `column 4: "备\u009b2J注" holds a control character (U+009B)`},
	} {
		err := ingest.Parse(bytes.NewReader(write(c.sheet, c.header)), ingest.XLSX, func(ingest.Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %s", c.what, err, c.want)
		}
		if err != nil {
			assertNoControls(t, err.Error())
		}
	}
}
