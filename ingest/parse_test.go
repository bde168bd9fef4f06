package ingest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

type want struct {
	line  int
	ref   string
	code  string
	field string
}

func check(t *testing.T, rows []ingest.Row, wants []want) {
	t.Helper()
	if len(rows) != len(wants) {
		for _, r := range rows {
			t.Logf("line %d ref %q err %v", r.Line, r.Input.Ref, r.Err)
		}
		t.Fatalf("%d rows, want %d", len(rows), len(wants))
	}
	for i, w := range wants {
		r := rows[i]
		if r.Line != w.line || r.Input.Line != w.line || r.Input.Ref != w.ref || code(r) != w.code {
			t.Errorf("row %d: line %d ref %q err %v; want line %d ref %q code %q", i, r.Line, r.Input.Ref, r.Err, w.line, w.ref, w.code)
		}
		if r.Err != nil && (r.Err.Line != w.line || w.field != "" && r.Err.Field != w.field) {
			t.Errorf("row %d: error %+v, want line %d field %q", i, *r.Err, w.line, w.field)
		}
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	manifest := "\uFEFFRef, shape ,name,id_number,face_image,idcard_image1,video,actions\r\n" +
		"a," + "name_face_image,张三," + id15 + "," + face + ",,,\r\n" +
		"\"b,with comma\",card_face_image,,,\"s3://media/a,b.jpg\"," + card1 + ",,\r\n" +
		"\"multi\nline\",name,张三," + id18 + ",,,,\n" + // ref with a newline: input.ref, stored as line-4
		",name_video,\"张三\"," + id18 + ",,,\"" + video + "\",\"3, 1\"\n" +
		"bad\"quote,name,张三," + id18 + ",,,,\n" + // bare quote: malformed, parsing goes on
		"short,name\n" + // field count
		"\n" + // blank lines are skipped
		"c,name,张三," + badCheck + ",,,,\n" +
		"d,,张\uE000," + id18 + ",,,,\n" // shape inferred, PUA name
	rows := parseAll(t, manifest, ingest.CSV)
	check(t, rows, []want{
		{2, "a", "", ""},
		{3, "b,with comma", "", ""},
		{4, "line-4", ingest.CodeRef, "ref"},
		{6, "line-6", "", ""},
		{7, "line-7", ingest.CodeMalformed, ""},
		{8, "line-8", ingest.CodeMalformed, ""},
		{10, "c", identity.CodeIDCheck, "id_number"},
		{11, "d", identity.CodeNamePrivateUse, "name"},
	})
	if in := rows[0].Input; in.IDNumber != id18 || in.Name != name || in.Shape != pipeline.ShapeNameFaceImage {
		t.Errorf("row a: %+v", in)
	}
	if in := rows[1].Input; in.FaceImage != "s3://media/a,b.jpg" || in.IDCard1 != card1 {
		t.Errorf("row b: %+v", in)
	}
	if in := rows[3].Input; in.Actions != "3,1" || in.Video != video || in.Shape != pipeline.ShapeNameVideo {
		t.Errorf("row line-6: %+v", in)
	}
	if rows[6].Input.Shape != pipeline.ShapeName {
		t.Errorf("row d: shape %q", rows[6].Input.Shape)
	}
	for _, r := range rows {
		noPII(t, r, name, id18, badCheck, id15, "张\uE000")
	}
}

func TestCSVManifestErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, manifest, want string }{
		{"no manifest column", "ref,shape,nmae\nx,name,张三\n", `manifest header: no name/id_number or idcard_image1 column`},
		{"repeated column", "ref,name,name\n", `manifest header: column "name" repeated`},
		{"name without id_number", "ref,name\nx,张三\nY,张三\n", `manifest header: column id_number is missing`},
		{"video without actions", "ref,idcard_image1,video\n", `manifest header: column actions is missing`},
		{"wrong delimiter", "ref|name|id_number\n", `read one column "ref|name|id_number"`},
		{"empty", "", "manifest: empty"},
		{"bom only", "\uFEFF", "manifest: empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			err := ingest.Parse(strings.NewReader(c.manifest), ingest.CSV, func(ingest.Row) error { n++; return nil })
			if err == nil || !strings.Contains(err.Error(), c.want) || n != 0 {
				t.Fatalf("err %v after %d rows, want %q", err, n, c.want)
			}
		})
	}
	if err := ingest.Parse(strings.NewReader("ref,name,id_number\n"), ingest.CSV, func(ingest.Row) error { return nil }); err != nil {
		t.Fatalf("header only: %v", err)
	}
}

func TestCSVUnterminatedQuote(t *testing.T) {
	t.Parallel()
	// An unterminated quote runs to the end of the file: one malformed row
	// at the line where it starts (csv.Reader cannot resynchronise).
	rows := parseAll(t, "ref,shape,idcard_image1\na,card,"+card1+"\n\"b,card,x\nc,card,"+card1+"\n", ingest.CSV)
	check(t, rows, []want{{2, "a", "", ""}, {3, "line-3", ingest.CodeMalformed, ""}})
}

func TestJSONL(t *testing.T) {
	t.Parallel()
	long := `{"ref":"` + strings.Repeat("x", ingest.DefaultLimits.RecordBytes) + `"}`
	manifest := "\uFEFF" + `{"ref":"a","shape":"name_face_image","name":"张三","id_number":"` + id15 + `","face_image":"` + face + `","detail":true}` + "\r\n" +
		`{"ref":"b","idcard_image1":"` + card1 + `","video":"` + video + `","actions":[1,3],"nod_threshold":15,"detail":null}` + "\n" +
		"this is not json\n" +
		"\n" +
		`{"ref":"c","shape":"name","name":"张三","id_number":110105194912310021}` + "\n" + // a number, bad check
		`["not","an","object"]` + "\n" +
		`{"ref":"d","shape":"card","idcard_image1":"` + card1 + `","colour":"red"}` + "\n" +
		`{"ref":"e","shape":"card","idcard_image1":{"nested":1}}` + "\n" +
		long + "\n" +
		`{"ref":"f","shape":"name","name":"张三","id_number":"` + id18 + `"` + "\n" + // truncated object
		`{"shape":"card","idcard_image1":"` + card1 + `"}` // no final newline
	rows := parseAll(t, manifest, ingest.JSONL)
	check(t, rows, []want{
		{1, "a", "", ""},
		{2, "b", "", ""},
		{3, "line-3", ingest.CodeMalformed, ""},
		{5, "c", identity.CodeIDCheck, "id_number"},
		{6, "line-6", ingest.CodeMalformed, ""},
		{7, "d", "", ""},
		{8, "e", ingest.CodeMalformed, ""},
		{9, "line-9", ingest.CodeTooLarge, ""},
		{10, "line-10", ingest.CodeMalformed, ""},
		{11, "line-11", "", ""},
	})
	if in := rows[0].Input; in.IDNumber != id18 || in.Detail == nil || !*in.Detail {
		t.Errorf("row a: %+v", in)
	}
	if in := rows[1].Input; in.Shape != pipeline.ShapeCardVideo || in.Actions != "1,3" || in.NodThreshold == nil ||
		*in.NodThreshold != 15 || in.Detail != nil {
		t.Errorf("row b: %+v", in)
	}
	if rows[3].Input.IDNumber != badCheck {
		t.Errorf("row c kept id %q, want the raw number", rows[3].Input.IDNumber)
	}
	if rows[5].Input.IDCard1 != card1 || rows[5].Input.Metadata != `{"colour":"red"}` {
		t.Errorf("row d: %+v %v", rows[5].Input, rows[5].Err)
	}
	for _, r := range rows {
		noPII(t, r, name, id15, badCheck, id18)
	}
}

func TestDuplicateRefs(t *testing.T) {
	t.Parallel()
	manifest := "ref,shape,idcard_image1\n" +
		"a,card," + card1 + "\n" +
		"a,card," + card1 + "\n" + // duplicate of a valid row
		"b,card,not-a-ref\n" + // refused row
		"b,card," + card1 + "\n" + // duplicate of a refused row
		",card," + card1 + "\n" + // line-6
		"line-6,card," + card1 + "\n" + // collides with the default ref
		"a,card," + card1 + "\n" // a third a
	rows := parseAll(t, manifest, ingest.CSV)
	check(t, rows, []want{
		{2, "a", "", ""},
		{3, "a#line-3", ingest.CodeDuplicateRef, "ref"},
		{4, "b", ingest.CodeMediaRef, "idcard_image1"},
		{5, "b#line-5", ingest.CodeDuplicateRef, "ref"},
		{6, "line-6", "", ""},
		{7, "line-6#line-7", ingest.CodeDuplicateRef, "ref"},
		{8, "a#line-8", ingest.CodeDuplicateRef, "ref"},
	})
	if r := rows[1].Err; r.Error() != "line 3: ref: already used on line 2" {
		t.Errorf("message %q", r.Error())
	}
}

func TestParseStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	for _, f := range []ingest.Format{ingest.CSV, ingest.JSONL} {
		m := "ref,shape,idcard_image1\na,card," + card1 + "\nb,card," + card1 + "\n"
		if f == ingest.JSONL {
			m = `{"ref":"a"}` + "\n" + `{"ref":"b"}` + "\n"
		}
		n := 0
		err := ingest.Parse(strings.NewReader(m), f, func(ingest.Row) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("%s: err %v after %d rows", f, err, n)
		}
	}
	if err := ingest.Parse(strings.NewReader(""), "xml", func(ingest.Row) error { return nil }); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, head string
		want       ingest.Format
	}{
		{"m.csv", `{"ref":1}`, ingest.CSV},
		{"s3://b/M.JSONL", "ref,shape", ingest.JSONL},
		{"m.ndjson", "", ingest.JSONL},
		{"m.json", "", ingest.JSON},
		{"m.xlsx", "", ingest.XLSX},
		{"manifest", "PK\x03\x04", ingest.XLSX},
		{"manifest", " [{", ingest.JSON},
		{"m.tsv", "", ingest.CSV},
		{"manifest", "\uFEFF \n {\"ref\":1}", ingest.JSONL},
		{"manifest", "ref,shape\n", ingest.CSV},
		{"m.txt", "", ingest.CSV},
	} {
		if got := ingest.DetectFormat(c.name, []byte(c.head)); got != c.want {
			t.Errorf("DetectFormat(%q, %q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}
