package e2e_test

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ops"
)

// ops export and ops report as shipped, the way their help says: the
// language from the locale (LANG) or -lang, the zone from TZ or -tz, a CSV
// with a byte order mark (or -bom=false), an .xlsx by extension; a language
// or zone that does not exist is a usage error (exit 2).
func TestOpsExportCommand(t *testing.T) {
	t.Parallel()
	bin := buildCommands(t)
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(3*i), byte(11+i)
	}
	env := append(cleanEnv(), "IVSBATCH_DATABASE_URL="+testenv.PostgresURL(t),
		"IVSBATCH_PII_KEYS=k1:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	dir := t.TempDir()
	manifest := filepath.Join(dir, "m.csv")
	if err := os.WriteFile(manifest, []byte("ref,name,id_number,客户编号\nr1,张三,11010519491231002X,C-9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd(t, bin, env, "enqueue", "submit", "-quiet", manifest).want(t, 0, "")

	csvOut := filepath.Join(dir, "out.csv")
	zh := append(slices.Clone(env), "LANG=zh_CN.UTF-8", "LC_ALL=", "LC_MESSAGES=", "TZ=Asia/Shanghai")
	runCmd(t, bin, zh, "ops", "export", "-batch", "1", "-o", csvOut).want(t, 0, "wrote 1 records", "Asia/Shanghai")
	b, err := os.ReadFile(csvOut)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := bytes.CutPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	if !ok {
		t.Fatalf("no byte order mark: %q", b[:min(len(b), 16)])
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, h := range []string{"状态", "完成时间 (Asia/Shanghai)", "客户编号", "姓名（脱敏）"} {
		if !slices.Contains(rows[0], h) {
			t.Errorf("LANG=zh_CN.UTF-8 TZ=Asia/Shanghai: no column %q in %q", h, rows[0])
		}
	}
	if i := slices.Index(rows[0], "状态"); i < 0 || rows[1][i] != "待处理" {
		t.Errorf("status not in Chinese: %q", rows[1])
	}

	runCmd(t, bin, zh, "ops", "export", "-batch", "1", "-o", csvOut, "-bom=false", "-raw", "-lang", "en", "-tz", "UTC").want(t, 0, "")
	if b, _ := os.ReadFile(csvOut); !bytes.HasPrefix(b, []byte("id,ref,")) {
		t.Errorf("-bom=false -raw: starts %q", b[:min(len(b), 16)])
	}

	xlsxOut := filepath.Join(dir, "out.xlsx")
	runCmd(t, bin, env, "ops", "export", "-batch", "1", "-o", xlsxOut, "-lang", "zh-CN", "-tz", "Asia/Shanghai").want(t, 0, "")
	x, err := excelize.OpenFile(xlsxOut)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	xrows, err := x.GetRows(ops.ExportSheet)
	if err != nil || len(xrows) != 2 || !slices.Contains(xrows[0], "客户编号") || !slices.Contains(xrows[1], "C-9") {
		t.Errorf("xlsx rows %q, %v", xrows, err)
	}

	html := filepath.Join(dir, "r.html")
	runCmd(t, bin, env, "ops", "report", "-batch", "1", "-o", html, "-lang", "zh-CN", "-tz", "Asia/Shanghai").want(t, 0, "")
	if page, _ := os.ReadFile(html); !bytes.Contains(page, []byte("核验结果分布")) || !bytes.Contains(page, []byte("待处理")) {
		t.Errorf("report -lang zh-CN is not in Chinese")
	}

	runCmd(t, bin, env, "ops", "export", "-batch", "1", "-o", csvOut, "-lang", "fr").want(t, 2, `-lang: language "fr": want en or zh-CN`)
	runCmd(t, bin, env, "ops", "export", "-batch", "1", "-o", csvOut, "-tz", "Mars/Olympus").want(t, 2, `-tz: time zone "Mars/Olympus"`)
	runCmd(t, bin, env, "ops", "report", "-batch", "1", "-o", html, "-lang", "klingon").want(t, 2, `-lang: language "klingon"`)
}
