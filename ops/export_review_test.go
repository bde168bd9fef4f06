package ops_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// A reviewer's decision shows in the export by default: the record's final
// status distinct from IVS's verdict, which stays, and the decision, who
// took it (declared and authenticated), when (in the export's zone) and
// why; records without a decision leave the columns empty, and a batch
// without any decision has no review columns.
func TestExportShowsReviewDecision(t *testing.T) {
	st, batch, recs := peopleBatch(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if _, err := ops.ExportAs(t.Context(), st, batch, &before, ops.ExportOptions{Raw: true, NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.SplitN(before.String(), "\n", 2)[0], "review_decision") {
		t.Error("review columns in a batch without decisions")
	}
	res, err := st.Decide(t.Context(), []int64{recs["r-review"].ID}, store.Decision{Decision: pipeline.DecideApprove,
		Reason: "=户籍证明已核", Operator: "auditor"})
	if err != nil || len(res.Decided) != 1 {
		t.Fatalf("decide: %+v, %v", res, err)
	}
	path := filepath.Join(t.TempDir(), "review.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	o := ops.ExportOptions{Format: ops.FormatXLSX, Lang: i18n.Chinese, Zone: shanghai}
	if _, err := ops.ExportAs(t.Context(), st, batch, f, o); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(ops.ExportSheet)
	if err != nil {
		t.Fatal(err)
	}
	tb := readTable(t, rows, "业务编号")
	rv, other := tb.byRef["r-review"], tb.byRef["r-text"]
	at, err := time.ParseInLocation(time.DateTime, rv["审核时间 (Asia/Shanghai)"], shanghai)
	if err != nil || time.Since(at) > 5*time.Minute || time.Since(at) < -time.Minute {
		t.Errorf("decision time %q (%v): want now, in Asia/Shanghai", rv["审核时间 (Asia/Shanghai)"], err)
	}
	want := map[string]string{"状态": "人工审核通过", "核验结果": "查无此人", "核验码": "3001", "人工审核结论": "通过",
		"审核理由": "=户籍证明已核"}
	for k, v := range want {
		if rv[k] != v {
			t.Errorf("r-review %s = %q, want %q (row %v)", k, rv[k], v, rv)
		}
	}
	if !strings.HasPrefix(rv["审核人"], "auditor (") {
		t.Errorf("reviewer %q: want the declared operator and the database user", rv["审核人"])
	}
	if other["人工审核结论"] != "" || other["审核人"] != "" {
		t.Errorf("a record without a decision: %v", other)
	}
	// In CSV the reviewer's text is neutralised like any cell from outside.
	var out bytes.Buffer
	if _, err := ops.ExportAs(t.Context(), st, batch, &out, ops.ExportOptions{NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	crows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if r := readTable(t, crows, "ref").byRef["r-review"]; r["review_reason"] != "'=户籍证明已核" || r["review_decision"] != "approve" ||
		r["status"] != "review_approved" && r["status"] != i18n.English.Status("review_approved") {
		t.Errorf("CSV review row %v", r)
	}
}
