package e2e_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
)

// Hostile manifests through the shipped `enqueue submit`: control
// characters in refs and header names never reach the terminal raw, a 40 MB
// cell refuses its row (input.too_large) and the rest is stored, a zip bomb
// is refused before it is inflated.
func TestHostileManifests(t *testing.T) {
	t.Parallel()
	bin := buildCommands(t)
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(3*i), byte(5+i)
	}
	env := append(cleanEnv(), "IVSBATCH_DATABASE_URL="+testenv.PostgresURL(t),
		"IVSBATCH_PII_KEYS=hostile:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	dir := t.TempDir()
	const id1, id2 = "11010519491231002X", "440106199001011235"
	raw := func(r result) {
		t.Helper()
		for _, c := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(r.stdout+r.stderr, c) {
				t.Errorf("output holds %q raw:\n%s%s", c, r.stdout, r.stderr)
			}
		}
	}

	t.Run("refs and a 40 MB cell", func(t *testing.T) {
		p := filepath.Join(dir, "refs.csv")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(f)
		w := csv.NewWriter(bw)
		_ = w.WriteAll([][]string{
			{"ref", "name", "id_number", "备注"},
			{"ok1", "张三", id1, ""},
			{"\x1b]0;pwned\x07", "张三", id1, ""},
			{"invoice\u202efdp.exe", "李四", id2, ""},
			{"big", "张三", id1, strings.Repeat("x", 40<<20)},
			{"ok2", "李四", id2, ""},
		})
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r := runCmd(t, bin, env, "enqueue", "submit", "-quiet", p)
		r.want(t, 0, "refused: line 3: ref: longer than 128 bytes, or not UTF-8 text without control characters [input.ref]",
			"refused: line 4: ref:", "refused: line 5: row longer than 65536 bytes", "[input.too_large]",
			"5 rows, 2 valid, 3 refused, 0 for review, 5 records stored")
		raw(r)
	})
	t.Run("a header with a bidi control", func(t *testing.T) {
		p := filepath.Join(dir, "header.csv")
		if err := os.WriteFile(p, []byte("ref,name,id_number,note\u202etxt.exe\nr1,张三,"+id1+",x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, bin, env, "enqueue", "submit", "-quiet", p)
		r.want(t, 1, `manifest header: column 4: "note\u202etxt.exe" holds a control character (U+202E)`, "nothing stored")
		raw(r)
	})
	t.Run("an xlsx bomb", func(t *testing.T) {
		wb := excelize.NewFile()
		for i, row := range [][]any{{"ref", "name", "id_number"}, {"a", "张三", id1}} {
			if err := wb.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
				t.Fatal(err)
			}
		}
		var base bytes.Buffer
		if err := wb.Write(&base); err != nil {
			t.Fatal(err)
		}
		wb.Close()
		// Its shared strings replaced by three million one-letter strings
		// (51 MB), compressed as a zip bomb's maker would.
		var sst, packed bytes.Buffer
		sst.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
		sst.WriteString(strings.Repeat("<si><t>x</t></si>", 3_000_000))
		sst.WriteString("</sst>")
		fw, _ := flate.NewWriter(&packed, flate.BestCompression)
		_, _ = fw.Write(sst.Bytes())
		fw.Close()
		zr, err := zip.NewReader(bytes.NewReader(base.Bytes()), int64(base.Len()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "bomb.xlsx")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(out)
		for _, e := range zr.File {
			if e.Name != "xl/sharedStrings.xml" {
				if err := zw.Copy(e); err != nil {
					t.Fatal(err)
				}
				continue
			}
			w, err := zw.CreateRaw(&zip.FileHeader{Name: e.Name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(sst.Bytes()),
				CompressedSize64: uint64(packed.Len()), UncompressedSize64: uint64(sst.Len())})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(packed.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		out.Close()
		r := runCmd(t, bin, env, "enqueue", "submit", "-quiet", p)
		r.want(t, 1, `zip entry "xl/sharedStrings.xml" declares 48.6 MiB`, "refused as a zip bomb", "nothing stored")
	})
}
