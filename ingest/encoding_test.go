package ingest_test

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
)

// iconv converts s with glibc's iconv (libc-bin, on every Debian machine).
func iconv(t *testing.T, from, to string, s []byte) []byte {
	t.Helper()
	cmd := exec.Command("iconv", "-f", from, "-t", to)
	cmd.Stdin = bytes.NewReader(s)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("iconv -f %s -t %s: %v", from, to, err)
	}
	return out
}

func TestGBKUserDefinedAreas(t *testing.T) {
	t.Parallel()
	// Every two-byte code of the three user-defined areas, one per line,
	// read by glibc's GB18030 decoder (its GBK one reads only the first
	// area) and by ours, as GBK and as GB18030.
	var codes bytes.Buffer
	for c0 := 0x81; c0 <= 0xfe; c0++ {
		for c1 := 0x40; c1 <= 0xfe; c1++ {
			uda1 := c0 >= 0xaa && c0 <= 0xaf && c1 >= 0xa1
			uda2 := c0 >= 0xf8 && c1 >= 0xa1
			uda3 := c0 >= 0xa1 && c0 <= 0xa7 && c1 <= 0xa0 && c1 != 0x7f
			if uda1 || uda2 || uda3 {
				codes.Write([]byte{byte(c0), byte(c1), '\n'})
			}
		}
	}
	if n := codes.Len() / 3; n != 564+658+672 {
		t.Fatalf("%d codes, want 1894", n)
	}
	want := iconv(t, "GB18030", "UTF-8", codes.Bytes())
	for _, enc := range []string{"gbk", "gb18030"} {
		r, _, err := ingest.Decode(bytes.NewReader(codes.Bytes()), enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("%s: code %X reads %q, glibc %q", enc, codes.Bytes()[3*i:3*i+2], gl[i], wl[i])
				}
			}
			t.Fatalf("%s: %d lines, glibc %d", enc, len(gl), len(wl))
		}
	}
}

func TestGBKNamesWithUserDefinedCharactersGoToReview(t *testing.T) {
	t.Parallel()
	// Names whose rare characters an organisation put in the user-defined
	// areas (one from each), encoded by iconv as Excel on Chinese Windows
	// saves a CSV; detected as GB18030.
	text := "ref,name,id_number\r\n" +
		"a,张\uE000," + id18 + "\r\n" +
		"b,李\uE234三," + id18b + "\r\n" +
		"c,\uE4C6王," + id18 + "\r\n" +
		"d,张三," + id18 + "\r\n"
	gbk := iconv(t, "UTF-8", "GB18030", []byte(text))
	for _, code := range [][]byte{{0xaa, 0xa1}, {0xf8, 0xa1}, {0xa1, 0x40}} {
		if !bytes.Contains(gbk, code) {
			t.Fatalf("iconv wrote no %X: the test tests nothing", code)
		}
	}
	for _, enc := range []string{"", "gbk"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			var rows []ingest.Row
			info, err := ingest.ParseWith(bytes.NewReader(gbk), ingest.ReadOptions{Encoding: enc}, func(r ingest.Row) error {
				rows = append(rows, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if enc == "" && info.Encoding != ingest.EncGB18030 {
				t.Errorf("detected %s", info.Encoding)
			}
			check(t, rows, []want{
				{2, "a", identity.CodeNamePrivateUse, "name"},
				{3, "b", identity.CodeNamePrivateUse, "name"},
				{4, "c", identity.CodeNamePrivateUse, "name"},
				{5, "d", "", ""},
			})
			for i, wantName := range []string{"张\uE000", "李\uE234三", "\uE4C6王"} {
				if rows[i].Input.Name != wantName || !rows[i].Err.Review() {
					t.Errorf("row %d: name %q, review %t", i, rows[i].Input.Name, rows[i].Err.Review())
				}
			}
		})
	}
}

func TestControlCharactersRefused(t *testing.T) {
	t.Parallel()
	controls := map[string]string{
		"OSC title":     "\x1b]0;pwned\x07",
		"CSI clear":     "\x1b[2J",
		"8-bit CSI":     "\u009b2J",
		"right-to-left": "\u202egpj.exe",
		"isolate":       "\u2066x\u2069",
		"NEL":           "\u0085",
	}
	// Each inside the text: spaces around values are trimmed (NEL among them).
	for what, c := range controls {
		t.Run(what, func(t *testing.T) {
			t.Parallel()
			// In a header name: the manifest is refused, the name printed escaped.
			m := "ref,name,id_number,no" + c + "te\nr1," + name + "," + id18 + ",x\n"
			err := ingest.Parse(strings.NewReader(m), ingest.CSV, func(ingest.Row) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "control character") {
				t.Fatalf("header: err %v", err)
			}
			assertNoControls(t, err.Error())
			// As a JSON key: that row is refused.
			rows := parseAll(t, fmt.Sprintf(`{"ref":"j1","name":%q,"id_number":%q,"note%s":"x"}`+"\n", name, id18, c), ingest.JSONL)
			check(t, rows, []want{{1, "line-1", ingest.CodeMalformed, ""}})
			assertNoControls(t, rows[0].Err.Error())
			// In a ref: the row is refused, the ref not repeated.
			rows = parseAll(t, "ref,name,id_number\nr"+c+"1,"+name+","+id18+"\nok,"+name+","+id18+"\n", ingest.CSV)
			check(t, rows, []want{{2, "line-2", ingest.CodeRef, "ref"}, {3, "ok", "", ""}})
			// In a value a message quotes: escaped.
			rows = parseAll(t, "ref,shape,name,id_number\nr2,sh"+c+"ape,"+name+","+id18+"\n", ingest.CSV)
			check(t, rows, []want{{2, "r2", ingest.CodeShape, "shape"}})
			assertNoControls(t, rows[0].Err.Error())
		})
	}
}

func assertNoControls(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			t.Errorf("message holds %U: %q", r, s)
		}
	}
}
