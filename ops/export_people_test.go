package ops_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// The OCR reading of the card row: none of its personal parts may appear
// in full in an export.
var ocr = pipeline.IDCardResult{Name: "周杰伦", Number: "110105194912310029", Sex: "男", Birth: "19491231",
	Ethnicity: "汉", Address: "北京市朝阳区建国路八十八号院", Issue: "北京市公安局朝阳分局", ValidFrom: "20150101", ValidTo: "20350101"}

// peopleBatch submits a manifest with the customer's own columns, a
// two-factor row, an id-card + video row, a refused row and a row that IVS
// does not find, and stores a 2001 verdict on the first, a 1000 verdict with
// OCR and liveness on the second and 3001 (review) on the last. It returns the store, the batch and its records by ref.
func peopleBatch(t *testing.T) (*store.Store, int64, map[string]*pipeline.Record) {
	t.Helper()
	st, err := store.Open(t.Context(), testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	id := func(first17 string) string {
		c, err := identity.CheckChar(first17)
		if err != nil {
			t.Fatal(err)
		}
		return first17 + string(c)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll([][]string{
		{"客户编号", "ref", "name", "id_number", "idcard_image1", "video", "actions", "备注", "网点"},
		{"C-001", "r-text", "周小明", id("11010519491231002"), "", "", "", "VIP, 周末", "=HYPERLINK(\"http://x\")"},
		{"C-002", "r-card", "", "", "s3://cards/c2.jpg", "s3://videos/c2.mp4", "1,3", "", "朝阳"},
		{"C-003", "r-bad", "王五", "110105194912310021", "", "", "", "", ""},
		{"C-004", "r-review", "赵六", id("11010519491231003"), "", "", "", "", ""},
	})
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := objstore.New(t.Context(), objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(t.Context(), st, ingest.ObjectOrFile(objs), path, ingest.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListRecords(t.Context(), sum.BatchID)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	byRef := map[string]*pipeline.Record{}
	for _, r := range recs {
		byRef[r.Ref] = r
	}
	finish := func(r *pipeline.Record, code int, v pipeline.Verdict) {
		v.Code, v.Result = &code, pipeline.VerdictRuleOf(code).Result
		if err := st.Finish(t.Context(), pipeline.Outcome{RecordID: r.ID, Generation: r.Generation,
			Status: pipeline.VerdictRuleOf(code).Status, CountAttempt: true, Verdict: v}); err != nil {
			t.Fatal(err)
		}
	}
	sim, alive, o := 12.5, true, ocr
	finish(byRef["r-text"], 2001, pipeline.Verdict{Similarity: &sim})
	finish(byRef["r-review"], 3001, pipeline.Verdict{})
	finish(byRef["r-card"], 1000, pipeline.Verdict{Similarity: &sim, IDCardResult: &o, VideoAlive: &alive,
		VideoActions: []pipeline.ActionResult{{Action: 1, Confidence: 0.98}, {Action: 3, Confidence: 0.87}}})
	for ref := range byRef {
		if byRef[ref], err = st.GetRecord(t.Context(), byRef[ref].ID); err != nil {
			t.Fatal(err)
		}
	}
	if byRef["r-bad"].Status != pipeline.StatusRejected || byRef["r-text"].FinishedAt == nil ||
		byRef["r-review"].Status != pipeline.StatusReview {
		t.Fatalf("setup: %+v", byRef)
	}
	return st, sum.BatchID, byRef
}

// excelText decodes a CSV file as Excel and WPS on Chinese Windows do: UTF-8
// when it starts with a byte order mark, else the ANSI code page (936, GBK).
func excelText(t *testing.T, b []byte) string {
	t.Helper()
	if rest, ok := bytes.CutPrefix(b, []byte{0xEF, 0xBB, 0xBF}); ok {
		return string(rest)
	}
	out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	return string(out)
}

// table is a decoded export: its header and rows by ref.
type table struct {
	header []string
	byRef  map[string]map[string]string
}

func readTable(t *testing.T, rows [][]string, refHeader string) table {
	t.Helper()
	if len(rows) < 2 {
		t.Fatalf("%d rows", len(rows))
	}
	tb := table{header: rows[0], byRef: map[string]map[string]string{}}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		tb.byRef[m[refHeader]] = m
	}
	return tb
}

// An export for people on Chinese Windows: the CSV, decoded as Excel on a
// GBK locale decodes it, and the xlsx, opened with excelize's reader, show
// Chinese headers and names, the customer's columns as their own columns,
// times in the chosen zone, the card's OCR masked, the liveness result, an
// explanation of every outcome, and no personal data in full. Without the
// byte order mark the same decoding garbles the text.
func TestExportForPeople(t *testing.T) {
	st, batch, recs := peopleBatch(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	o := ops.ExportOptions{Lang: i18n.Chinese, Zone: shanghai}
	var out bytes.Buffer
	if n, err := ops.ExportAs(t.Context(), st, batch, &out, o); err != nil || n != 4 {
		t.Fatalf("export: %d, %v", n, err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("no UTF-8 byte order mark: % x", out.Bytes()[:8])
	}
	rows, err := csv.NewReader(strings.NewReader(excelText(t, out.Bytes()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checkPeopleTable(t, "CSV", readTable(t, rows, "业务编号"), recs, shanghai, "'=HYPERLINK(\"http://x\")")
	for _, r := range recs {
		for _, full := range []string{r.Name, r.IDNumber} {
			if len([]rune(full)) > 1 && strings.Contains(out.String(), full) {
				t.Errorf("%s: %q in full in the export", r.Ref, full)
			}
		}
	}
	for _, full := range []string{ocr.Name, ocr.Number, ocr.Address, ocr.Birth} {
		if strings.Contains(out.String(), full) {
			t.Errorf("OCR %q in full in the export", full)
		}
	}

	// The same export without the mark, decoded the same way: 周 is lost.
	var noBOM bytes.Buffer
	o.NoBOM = true
	if _, err := ops.ExportAs(t.Context(), st, batch, &noBOM, o); err != nil {
		t.Fatal(err)
	}
	if got := excelText(t, noBOM.Bytes()); strings.Contains(got, "周*") || strings.Contains(got, "状态") {
		t.Errorf("without a byte order mark a GBK locale still reads the Chinese text: the test cannot tell")
	}

	// xlsx, opened with excelize's reader.
	path := filepath.Join(t.TempDir(), "people.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Format = ops.FormatXLSX
	if _, err := ops.ExportAs(t.Context(), st, batch, f, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	xrows, err := x.GetRows(ops.ExportSheet)
	if err != nil {
		t.Fatal(err)
	}
	tb := readTable(t, xrows, "业务编号")
	checkPeopleTable(t, "xlsx", tb, recs, shanghai, "=HYPERLINK(\"http://x\")")
	// the time is a date cell (a number styled as a date), the formula text a string
	timeCol := slices.IndexFunc(tb.header, func(h string) bool { return strings.HasPrefix(h, "完成时间") })
	cellName, _ := excelize.CoordinatesToCellName(timeCol+1, 2)
	if typ, err := x.GetCellType(ops.ExportSheet, cellName); err != nil || typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("time cell %s typed %v (%v), want a number styled as a date", cellName, typ, err)
	}
	for row := 2; row <= len(xrows); row++ {
		for col := 1; col <= len(tb.header); col++ {
			name, _ := excelize.CoordinatesToCellName(col, row)
			if fm, _ := x.GetCellFormula(ops.ExportSheet, name); fm != "" {
				t.Errorf("cell %s holds the formula %q", name, fm)
			}
		}
	}
}

// checkPeopleTable checks a Chinese export read back (CSV or xlsx); formula
// is how the customer's formula-like cell must read.
func checkPeopleTable(t *testing.T, what string, tb table, recs map[string]*pipeline.Record, zone *time.Location, formula string) {
	t.Helper()
	for _, h := range []string{"记录编号", "状态", "核验结果", "说明", "客户编号", "备注", "网点", "证件识别：姓名（脱敏）",
		"证件识别：住址（脱敏）", "视频：活体", "完成时间 (Asia/Shanghai)"} {
		if !slices.Contains(tb.header, h) {
			t.Errorf("%s: no column %q in %q", what, h, tb.header)
		}
	}
	if slices.Contains(tb.header, "metadata") || slices.Contains(tb.header, "自定义列") {
		t.Errorf("%s: the customer's columns in one column: %q", what, tb.header)
	}
	text, card, bad := tb.byRef["r-text"], tb.byRef["r-card"], tb.byRef["r-bad"]
	if text == nil || card == nil || bad == nil {
		t.Fatalf("%s: rows %v", what, tb.byRef)
	}
	want := map[string]string{"客户编号": "C-001", "备注": "VIP, 周末", "网点": formula, "状态": "已完成", "核验结果": "不通过",
		"核验码": "2001", "说明": i18n.Chinese.Verdict(2001), "姓名（脱敏）": "周*", "核验方式": "姓名+身份证号",
		"完成时间 (Asia/Shanghai)": recs["r-text"].FinishedAt.In(zone).Format(time.DateTime)}
	for k, v := range want {
		if text[k] != v {
			t.Errorf("%s: r-text %s = %q, want %q", what, k, text[k], v)
		}
	}
	want = map[string]string{"客户编号": "C-002", "网点": "朝阳", "状态": "已完成", "核验结果": "通过",
		"证件识别：姓名（脱敏）": "周*", "证件识别：身份证号（脱敏）": identity.MaskID(ocr.Number), "证件识别：出生日期（脱敏）": "1949****",
		"证件识别：住址（脱敏）": "北京市朝阳区*", "证件识别：性别": "男", "视频：活体": "是", "视频：动作（置信度）": "左摇头 0.98; 点头 0.87",
		"说明": i18n.Chinese.Verdict(1000)}
	for k, v := range want {
		if card[k] != v {
			t.Errorf("%s: r-card %s = %q, want %q", what, k, card[k], v)
		}
	}
	if bad["状态"] != "已拒绝（未发送）" || bad["错误码"] != identity.CodeIDCheck || bad["说明"] != i18n.Chinese.Code(identity.CodeIDCheck) ||
		bad["客户编号"] != "C-003" {
		t.Errorf("%s: refused row %v", what, bad)
	}
	if rv := tb.byRef["r-review"]; rv["状态"] != "待人工审核" || rv["核验结果"] != "查无此人" || rv["说明"] != i18n.Chinese.Verdict(3001) {
		t.Errorf("%s: review row %v", what, rv)
	}
}

// A raw export is for programs: machine names, values as stored, times in
// RFC 3339 with their offset, no neutralising apostrophe; -bom=false leaves
// the mark out. Review decisions, when given, fill their columns.
func TestExportRawAndDecisions(t *testing.T) {
	st, batch, recs := peopleBatch(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	decidedAt := time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)
	decisions := func(_ context.Context, b int64) (map[int64]ops.Decision, error) {
		if b != batch {
			t.Errorf("decisions asked for batch %d", b)
		}
		return map[int64]ops.Decision{recs["r-text"].ID: {Outcome: "approve", By: "auditor", At: decidedAt, Reason: "paper file seen"}}, nil
	}
	var out bytes.Buffer
	o := ops.ExportOptions{Raw: true, NoBOM: true, Zone: shanghai, Lang: i18n.Chinese, Decisions: decisions}
	if _, err := ops.ExportAs(t.Context(), st, batch, &out, o); err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(out.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatal("a byte order mark with NoBOM")
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tb := readTable(t, rows, "ref")
	if !slices.Equal(tb.header[:len(ops.ExportColumns)], ops.ExportColumns) {
		t.Errorf("raw header %q", tb.header)
	}
	text := tb.byRef["r-text"]
	want := map[string]string{"status": "done", "verdict": "invalid", "shape": "name", "网点": `=HYPERLINK("http://x")`,
		"finished_at": recs["r-text"].FinishedAt.In(shanghai).Format(time.RFC3339), "explanation": i18n.Chinese.Verdict(2001),
		"review_decision": "approve", "review_by": "auditor", "review_at": "2026-12-06T09:02:03+08:00", "review_reason": "paper file seen"}
	for k, v := range want {
		if text[k] != v {
			t.Errorf("raw r-text %s = %q, want %q", k, text[k], v)
		}
	}
	if !strings.HasSuffix(text["finished_at"], "+08:00") {
		t.Errorf("raw time %q without its offset", text["finished_at"])
	}
	if card := tb.byRef["r-card"]; card["video_actions"] != "1:0.98,3:0.87" || card["video_alive"] != "true" || card["review_decision"] != "" {
		t.Errorf("raw r-card %v", card)
	}
}

// A report in Chinese names statuses and verdicts in Chinese and explains
// every verification and error code of the batch; times are in its zone.
func TestReportInChinese(t *testing.T) {
	st, batch, recs := peopleBatch(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ops.Report(t.Context(), st, batch, &out, ops.ReportOptions{Lang: i18n.Chinese, Zone: shanghai}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, want := range []string{`<html lang="zh-CN">`, "核验结果分布", "<td>已完成</td>", "<td>已拒绝（未发送）</td>",
		"<td>2001 不通过</td>", i18n.Chinese.Verdict(2001), i18n.Chinese.Verdict(1000), "<td>" + identity.CodeIDCheck + "</td>",
		i18n.Chinese.Code(identity.CodeIDCheck), "Asia/Shanghai", "相似度"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, english := range []string{">status<", "Verdict mix", "no data", "records,"} {
		if strings.Contains(page, english) {
			t.Errorf("Chinese report holds %q", english)
		}
	}
	for _, r := range recs {
		if len([]rune(r.Name)) > 1 && strings.Contains(page, r.Name) || r.IDNumber != "" && strings.Contains(page, r.IDNumber) {
			t.Errorf("%s: personal data in the report", r.Ref)
		}
	}
}
