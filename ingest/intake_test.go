package ingest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// intake is a store over a private database, a media root and a directory
// for manifests.
type intake struct {
	t         *testing.T
	st        *store.Store
	objs      *objstore.Store
	root, dir string
}

func newIntake(t *testing.T) *intake {
	t.Helper()
	st, err := store.Open(t.Context(), testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	root := t.TempDir()
	objs, err := objstore.New(t.Context(), objstore.Config{MediaRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	return &intake{t: t, st: st, objs: objs, root: root, dir: t.TempDir()}
}

// write stores a manifest file and returns its path.
func (in *intake) write(name string, data []byte) string {
	in.t.Helper()
	p := filepath.Join(in.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		in.t.Fatal(err)
	}
	return p
}

func (in *intake) submit(ctx context.Context, path string, opts ingest.SubmitOptions) (ingest.Summary, error) {
	opts.CheckRef = in.objs.CheckRef
	return ingest.Submit(ctx, in.st, ingest.ObjectOrFile(in.objs), path, opts)
}

// mustSubmit submits and returns the summary and the records by ref.
func (in *intake) mustSubmit(path string, opts ingest.SubmitOptions) (ingest.Summary, map[string]*pipeline.Record) {
	in.t.Helper()
	sum, err := in.submit(in.t.Context(), path, opts)
	if err != nil {
		in.t.Fatalf("submit %s: %v", filepath.Base(path), err)
	}
	recs, err := in.st.ListRecords(in.t.Context(), sum.BatchID)
	if err != nil {
		in.t.Fatal(err)
	}
	byRef := map[string]*pipeline.Record{}
	for _, r := range recs {
		byRef[r.Ref] = r
	}
	return sum, byRef
}

// stored counts every batch and record in the database.
func (in *intake) stored() (batches, records int) {
	in.t.Helper()
	err := in.st.Pool().QueryRow(in.t.Context(), `SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM records)`).
		Scan(&batches, &records)
	if err != nil {
		in.t.Fatal(err)
	}
	return batches, records
}

// expect checks a record's status, code and (for pending ones) name and id.
func expect(t *testing.T, recs map[string]*pipeline.Record, ref string, status pipeline.Status, code string) *pipeline.Record {
	t.Helper()
	r := recs[ref]
	if r == nil {
		t.Fatalf("no record %q (have %d)", ref, len(recs))
	}
	if r.Status != status || r.LastErrorCode != code {
		t.Errorf("%s: %s %q (%s), want %s %q", ref, r.Status, r.LastErrorCode, r.LastErrorMessage, status, code)
	}
	return r
}

func encode(t *testing.T, s string, e transform.Transformer) []byte {
	t.Helper()
	b, _, err := transform.Bytes(e, []byte(s))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func TestIntakeEncodings(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	text := "ref,name,id_number\r\n" +
		"a,张三," + id18 + "\r\n" +
		"b,欧阳娜娜," + id18b + "\r\n" +
		"c,李四," + badCheck + "\r\n"

	t.Run("GBK written by the GBK encoder", func(t *testing.T) {
		p := in.write("gbk.csv", encode(t, text, simplifiedchinese.GBK.NewEncoder()))
		sum, recs := in.mustSubmit(p, ingest.SubmitOptions{})
		if sum.Encoding != ingest.EncGB18030 || sum.Rows != 3 || sum.Valid != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if r := expect(t, recs, "b", pipeline.StatusPending, ""); r.Name != "欧阳娜娜" || r.IDNumber != id18b {
			t.Errorf("b read as %q %q", r.Name, r.IDNumber)
		}
		expect(t, recs, "a", pipeline.StatusPending, "")
		expect(t, recs, "c", pipeline.StatusRejected, identity.CodeIDCheck)
	})
	t.Run("GBK with user-defined characters, written by iconv", func(t *testing.T) {
		// A rare character of a name, which the organisation put in a
		// user-defined area (AAA1 → U+E000): a human must look, not refused.
		uda := strings.NewReplacer("a,张三", "g1,张\uE000", "b,欧阳娜娜", "g2,欧阳\uE4C6娜", "c,李四", "g3,李四").Replace(text)
		b := iconv(t, "UTF-8", "GB18030", []byte(uda))
		if !bytes.Contains(b, []byte{0xaa, 0xa1}) || !bytes.Contains(b, []byte{0xa1, 0x40}) {
			t.Fatal("iconv wrote no user-defined code: the test tests nothing")
		}
		sum, recs := in.mustSubmit(in.write("gbk-uda.csv", b), ingest.SubmitOptions{})
		if sum.Encoding != ingest.EncGB18030 || sum.Rows != 3 || sum.Review != 2 || sum.Rejected != 1 {
			t.Fatalf("summary %+v", sum)
		}
		if r := expect(t, recs, "g1", pipeline.StatusReview, identity.CodeNamePrivateUse); r.Name != "张\uE000" {
			t.Errorf("g1 read as %q", r.Name)
		}
		expect(t, recs, "g2", pipeline.StatusReview, identity.CodeNamePrivateUse)
		expect(t, recs, "g3", pipeline.StatusRejected, identity.CodeIDCheck)
	})
	t.Run("GBK forced as UTF-8 is an encoding problem", func(t *testing.T) {
		p := in.write("gbk-forced.csv", encode(t, strings.ReplaceAll(text, "a,", "x,"), simplifiedchinese.GBK.NewEncoder()))
		sum, recs := in.mustSubmit(p, ingest.SubmitOptions{Encoding: "utf-8"})
		if sum.Encoding != "utf-8" || sum.Valid != 0 {
			t.Fatalf("summary %+v", sum)
		}
		r := expect(t, recs, "x", pipeline.StatusRejected, ingest.CodeEncoding)
		if !strings.Contains(r.LastErrorMessage, "-encoding") {
			t.Errorf("reason %q does not say how to fix it", r.LastErrorMessage)
		}
	})
	t.Run("UTF-16LE with tabs (Excel's Unicode text)", func(t *testing.T) {
		tsv := strings.ReplaceAll(strings.NewReplacer("a,", "u,", "b,", "v,", "c,", "w,").Replace(text), ",", "\t")
		p := in.write("unicode.txt", encode(t, tsv, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()))
		sum, recs := in.mustSubmit(p, ingest.SubmitOptions{})
		if sum.Encoding != ingest.EncUTF16LE || sum.Delimiter != "tab" || sum.Rows != 3 || sum.Valid != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if r := expect(t, recs, "v", pipeline.StatusPending, ""); r.Name != "欧阳娜娜" {
			t.Errorf("v read as %q", r.Name)
		}
		expect(t, recs, "w", pipeline.StatusRejected, identity.CodeIDCheck)
	})
	t.Run("semicolons", func(t *testing.T) {
		p := in.write("semi.csv", []byte(strings.ReplaceAll(strings.NewReplacer("a,", "s1,", "b,", "s2,", "c,", "s3,").Replace(text), ",", ";")))
		sum, recs := in.mustSubmit(p, ingest.SubmitOptions{})
		if sum.Delimiter != "semicolon" || sum.Encoding != ingest.EncUTF8 || sum.Valid != 2 || sum.Rejected != 1 {
			t.Fatalf("summary %+v", sum)
		}
		expect(t, recs, "s1", pipeline.StatusPending, "")
		expect(t, recs, "s3", pipeline.StatusRejected, identity.CodeIDCheck)
	})
}

func TestIntakeShapesOfFiles(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	t.Run("xlsx made with excelize", func(t *testing.T) {
		f := excelize.NewFile()
		defer f.Close()
		sh := "名单"
		if err := f.SetSheetName("Sheet1", sh); err != nil {
			t.Fatal(err)
		}
		if _, err := f.NewSheet("other"); err != nil {
			t.Fatal(err)
		}
		cells := [][]any{
			{"ref", "name", "id_number", "分行"},
			{"x1", "张三", id18, "北京"},
			{"x2", "李四", 110105194912310021, "上海"}, // typed as a number: digits lost
			{},
			{"x3", "王五", "440106 19900101 1235", ""},
		}
		for i, row := range cells {
			if err := f.SetSheetRow(sh, fmt.Sprintf("A%d", i+1), &row); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		p := in.write("people.xlsx", buf.Bytes())
		sum, recs := in.mustSubmit(p, ingest.SubmitOptions{})
		if sum.Format != ingest.XLSX || sum.Sheet != sh || sum.Rows != 3 || sum.Valid != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if r := expect(t, recs, "x1", pipeline.StatusPending, ""); r.Metadata != `{"分行":"北京"}` {
			t.Errorf("x1 metadata %q", r.Metadata)
		}
		expect(t, recs, "x2", pipeline.StatusRejected, ingest.CodeIDScientific)
		if r := expect(t, recs, "x3", pipeline.StatusPending, ""); r.IDNumber != id18b {
			t.Errorf("inner spaces not stripped: %q", r.IDNumber)
		}
		if _, err := in.submit(t.Context(), p, ingest.SubmitOptions{Sheet: "nope"}); err == nil ||
			!strings.Contains(err.Error(), `no sheet "nope"`) {
			t.Errorf("unknown sheet: %v", err)
		}
	})
	t.Run("JSON array", func(t *testing.T) {
		items := []map[string]any{
			{"ref": "j1", "name": "张三", "id_number": id18, "客户编号": "C-001"},
			{"ref": "j2", "shape": "name", "name": "张三", "id_number": badCheck},
			{},
			{"ref": "j3", "idcard_image1": "file://" + filepath.Join(in.root, "c.jpg"), "tags": []string{"vip"}},
		}
		b, err := json.MarshalIndent(items, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		sum, recs := in.mustSubmit(in.write("people.json", b), ingest.SubmitOptions{})
		if sum.Format != ingest.JSON || sum.Rows != 3 || sum.Valid != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if r := expect(t, recs, "j1", pipeline.StatusPending, ""); r.Metadata != `{"客户编号":"C-001"}` {
			t.Errorf("j1 metadata %q", r.Metadata)
		}
		expect(t, recs, "j2", pipeline.StatusRejected, identity.CodeIDCheck)
		if r := expect(t, recs, "j3", pipeline.StatusPending, ""); r.Metadata != `{"tags":"[\"vip\"]"}` {
			t.Errorf("j3 metadata %q", r.Metadata)
		}
	})
}

func TestIntakeExtraColumnsExported(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll([][]string{
		{"客户编号", "ref", "name", "id_number", "备注"},
		{"C-1", "e1", "张三", id18, "VIP, 周末"},
		{"C-2", "e2", "李四", badCheck, ""},
	})
	sum, _ := in.mustSubmit(in.write("extra.csv", buf.Bytes()), ingest.SubmitOptions{})
	if strings.Join(sum.Extra, "|") != "客户编号|备注" {
		t.Fatalf("extra columns %q", sum.Extra)
	}
	var out bytes.Buffer
	if _, err := ops.ExportAs(t.Context(), in.st, sum.BatchID, &out, ops.ExportOptions{Raw: true, NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	got := map[string]map[string]string{}
	for _, r := range rows[1:] { // the customer's columns, each a column of its own
		got[r[col["ref"]]+" "+r[col["status"]]] = map[string]string{"客户编号": r[col["客户编号"]], "备注": r[col["备注"]]}
	}
	want := map[string]map[string]string{
		"e1 pending":  {"客户编号": "C-1", "备注": "VIP, 周末"},
		"e2 rejected": {"客户编号": "C-2", "备注": ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("exported metadata %v, want %v", got, want)
	}
	// At rest the metadata is sealed.
	var raw string
	if err := in.st.Pool().QueryRow(t.Context(), `SELECT metadata_enc FROM records WHERE ref = 'e1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "VIP") || !strings.Contains(raw, ":") {
		t.Fatalf("metadata stored as %q, want sealed", raw)
	}
}

func TestIntakeExcelDamage(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf) // quotes ="…" as a CSV writer (and Excel) does
	_ = w.WriteAll([][]string{
		{"ref", "name", "id_number", "idcard_image1"},
		{"sci", "张三", "1.10105E+17", ""},
		{"formula", "张三", `="` + id18 + `"`, ""},
		{"apostrophe", "张三", "'" + id18b, ""},
		{"dashes", "张三", "440106-19900101-1235", ""},
		{"", "", "", ""},
	})
	buf.WriteString(",,,\n,,,\n") // Excel's trailing empty rows
	sum, recs := in.mustSubmit(in.write("excel.csv", buf.Bytes()), ingest.SubmitOptions{})
	if sum.Rows != 4 || sum.Valid != 3 || sum.Rejected != 1 {
		t.Fatalf("summary %+v (empty rows must not count)", sum)
	}
	r := expect(t, recs, "sci", pipeline.StatusRejected, ingest.CodeIDScientific)
	for _, want := range []string{"dropped", "digits", "Text"} {
		if !strings.Contains(r.LastErrorMessage, want) {
			t.Errorf("reason %q lacks %q", r.LastErrorMessage, want)
		}
	}
	for ref, id := range map[string]string{"formula": id18, "apostrophe": id18b, "dashes": id18b} {
		if r := expect(t, recs, ref, pipeline.StatusPending, ""); r.IDNumber != id {
			t.Errorf("%s: id %q, want %q", ref, r.IDNumber, id)
		}
	}
}

func TestIntakeMediaRoot(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	outside := filepath.Join(t.TempDir(), "王芳.jpg")
	manifest := "ref,shape,idcard_image1\n" +
		"in,card,file://" + filepath.Join(in.root, "王芳.jpg") + "\n" +
		"out,card,file://" + outside + "\n" +
		"etc,card,file:///etc/shadow\n"
	sum, recs := in.mustSubmit(in.write("media.csv", []byte(manifest)), ingest.SubmitOptions{})
	if sum.Valid != 1 || sum.Rejected != 2 {
		t.Fatalf("summary %+v", sum)
	}
	expect(t, recs, "in", pipeline.StatusPending, "")
	for _, ref := range []string{"out", "etc"} {
		r := expect(t, recs, ref, pipeline.StatusRejected, ingest.CodeMediaRef)
		if !strings.Contains(r.LastErrorMessage, "outside the media root") || strings.Contains(r.LastErrorMessage, "王芳") {
			t.Errorf("%s: reason %q", ref, r.LastErrorMessage)
		}
	}
	// Without a media root every file:// reference is refused.
	sum, err := ingest.Submit(t.Context(), in.st, ingest.ObjectOrFile(in.objs), in.write("media2.csv", []byte(manifest+"x,card,s3://m/k.jpg\n")),
		ingest.SubmitOptions{})
	if err != nil || sum.Valid != 1 || sum.Rejected != 3 {
		t.Fatalf("no media root: %+v %v", sum, err)
	}
}

func TestIntakeWholeFileRefusals(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	noKeys, err := store.Open(t.Context(), testenv.PostgresURL(t), store.WithKeyring(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(noKeys.Close)
	for _, c := range []struct {
		name, manifest, want string
		st                   *store.Store
	}{
		{"header only", "ref,name,id_number\r\n", "no data rows", in.st},
		{"header and empty rows", "ref,name,id_number\n,,\n,,\n", "no data rows", in.st},
		{"empty", "", "empty", in.st},
		{"no manifest column", "编号,姓名\n1,张三\n", "no name/id_number or idcard_image1 column", in.st},
		{"name without id_number", "ref,name\nx,张三\n", "column id_number is missing", in.st},
		{"no pii keys", "ref,name,id_number\nx,张三," + id18 + "\n", "no encryption keys", noKeys},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := in.write(strings.ReplaceAll(c.name, " ", "-")+".csv", []byte(c.manifest))
			_, err := ingest.Submit(t.Context(), c.st, ingest.ObjectOrFile(in.objs), p, ingest.SubmitOptions{CheckRef: in.objs.CheckRef})
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if b, r := in.stored(); b != 0 || r != 0 {
				t.Fatalf("%d batches and %d records stored after a refused manifest", b, r)
			}
		})
	}
}

// cancelAfter cancels once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestIntakeCancelledHalfway(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	var b strings.Builder
	b.WriteString("ref,name,id_number\n")
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&b, "r%d,张三,%s\n", i, id18)
	}
	p := in.write("big.csv", []byte(b.String()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	open := func(ctx context.Context, src string) (io.ReadCloser, error) {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{&cancelAfter{r: f, n: b.Len() / 2, cancel: cancel}, f}, nil
	}
	sum, err := ingest.Submit(ctx, in.st, open, p, ingest.SubmitOptions{ChunkRows: 1000, CheckRef: in.objs.CheckRef})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled submit: %+v %v", sum, err)
	}
	if sum.Rows < 1000 || sum.Rows >= rows {
		t.Fatalf("cancelled after %d rows, want halfway (chunks were staged)", sum.Rows)
	}
	if nb, nr := in.stored(); nb != 0 || nr != 0 {
		t.Fatalf("%d batches, %d records left by a cancelled submit", nb, nr)
	}
	// Resubmitting stores the whole manifest and says so.
	again, err := in.submit(t.Context(), p, ingest.SubmitOptions{ChunkRows: 1000})
	if err != nil || !again.Created || again.Inserted != rows || again.Valid != rows {
		t.Fatalf("resubmit: %+v %v", again, err)
	}
	third, err := in.submit(t.Context(), p, ingest.SubmitOptions{ChunkRows: 1000})
	if err != nil || third.Created || third.Inserted != 0 || third.BatchID != again.BatchID {
		t.Fatalf("third submit: %+v %v", third, err)
	}
}

func TestIntakePlan(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	manifest := "ref,shape,name,id_number\n" +
		"p1,name,张三," + id18 + "\n" +
		"p2,name,张三," + id18 + "\n" + // same inputs as p1: one call
		"p3,name,张三," + id18 + "\n" +
		"p4,name,李四," + id18b + "\n" +
		"p5,name,李四," + badCheck + "\n" +
		"p6,name,张\uE000," + id18 + "\n"
	sum, _ := in.mustSubmit(in.write("plan.csv", []byte(manifest)), ingest.SubmitOptions{})
	p, err := ops.MakePlan(t.Context(), in.st, sum.BatchID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 6 || p.Accepted != 4 || p.Refused != 1 || p.Review != 1 || p.Open != 4 || p.TotalCalls() != 2 ||
		p.Duration != 2*time.Second {
		t.Fatalf("plan %+v", p)
	}
	if ok, left := p.BudgetCovers(); !ok || left != -1 {
		t.Fatalf("no cap: covers %t left %d", ok, left)
	}
	if _, err := in.st.SetBudget(t.Context(), sum.BatchID, 1, nil); err != nil {
		t.Fatal(err)
	}
	if p, err = ops.MakePlan(t.Context(), in.st, sum.BatchID, 1); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Write(&out)
	for _, want := range []string{"6 in the manifest: 4 accepted, 1 refused, 1 for review", "at most 2 paid IVS calls",
		"about 2s at IVSBATCH_QUOTA=1", "NOT covered: cap 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := config.Quota(func(string) string { return "ten" }); err == nil ||
		!strings.Contains(err.Error(), `IVSBATCH_QUOTA="ten"`) {
		t.Errorf("bad quota: %v", err)
	}
}

func TestIntakeOversizedRowsStoredRejected(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll([][]string{
		{"ref", "name", "id_number", "备注"},
		{"ok1", "张三", id18, "VIP"},
		{"huge", "张三", id18, strings.Repeat("x", 40<<20)}, // a 40 MB cell
		{"longname", strings.Repeat("张", 2000), id18, ""},
		{"ok2", "李四", id18b, ""},
	})
	sum, recs := in.mustSubmit(in.write("oversized.csv", buf.Bytes()), ingest.SubmitOptions{})
	if sum.Rows != 4 || sum.Valid != 2 || sum.Rejected != 2 {
		t.Fatalf("summary %+v", sum)
	}
	expect(t, recs, "ok1", pipeline.StatusPending, "")
	expect(t, recs, "ok2", pipeline.StatusPending, "")
	huge := expect(t, recs, "line-3", pipeline.StatusRejected, ingest.CodeTooLarge)
	long := expect(t, recs, "longname", pipeline.StatusRejected, ingest.CodeTooLarge)
	if huge.Line != 3 || long.Line != 4 || !strings.Contains(huge.LastErrorMessage, "row longer than 65536 bytes") ||
		long.LastErrorMessage != "name: 6000 bytes, at most 4096" {
		t.Errorf("stored %d %q, %d %q", huge.Line, huge.LastErrorMessage, long.Line, long.LastErrorMessage)
	}
	var stored int
	if err := in.st.Pool().QueryRow(t.Context(), `SELECT max(length(coalesce(metadata_enc, '')) + length(coalesce(name_enc, '')))
		FROM records WHERE last_error_code = $1`, ingest.CodeTooLarge).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored > 0 {
		t.Errorf("an oversized row stored %d bytes of name and metadata", stored)
	}

	// A manifest most of whose rows are over the limits is refused whole.
	buf.Reset()
	w = csv.NewWriter(&buf)
	_ = w.Write([]string{"ref", "name", "id_number"})
	for i := range 20 {
		n := "张三"
		if i < 12 {
			n = strings.Repeat("张", 2000)
		}
		_ = w.Write([]string{fmt.Sprint("m", i), n, id18})
	}
	w.Flush()
	b0, r0 := in.stored()
	if _, err := in.submit(t.Context(), in.write("mostly-oversized.csv", buf.Bytes()), ingest.SubmitOptions{}); err == nil ||
		!strings.Contains(err.Error(), "12 of the 20 rows read are over the size limits") {
		t.Fatalf("err %v", err)
	}
	if b, r := in.stored(); b != b0 || r != r0 {
		t.Fatalf("a refused manifest stored %d batches and %d records", b-b0, r-r0)
	}
}
