package ingest_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ingest"
)

// These tests are not parallel: each measures what parsing allocates
// (runtime.MemStats.TotalAlloc, which counts every goroutine), and Go runs
// parallel tests only once the sequential ones are done.

// parseFile parses the manifest at path and returns its rows and the bytes
// allocated meanwhile (the file is read from disk: it is never in memory).
func parseFile(t *testing.T, path string, o ingest.ReadOptions) ([]ingest.Row, uint64, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []ingest.Row
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ingest.ParseWith(f, o, func(r ingest.Row) error {
		rows = append(rows, r)
		return nil
	})
	runtime.ReadMemStats(&after)
	return rows, after.TotalAlloc - before.TotalAlloc, err
}

// allocBound is what reading any of these manifests may allocate: buffers
// and decoders, a few rows. Each file is tens of megabytes; a reader that
// held a whole row, cell or element would allocate at least that.
const allocBound = 8 << 20

// writeCSV writes rows with encoding/csv into a file.
func writeCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSVOverLimits(t *testing.T) {
	lim := ingest.DefaultLimits
	header := []string{"ref", "name", "id_number", "备注", "客户编号", "渠道"}
	ok := func(ref string) []string { return []string{ref, name, id18, "", "", ""} }
	k3 := strings.Repeat("註", 1024) // 3 KiB: three of them make 9 KiB of metadata
	rows := [][]string{header,
		ok("a"),
		{"cell40m", name, id18, strings.Repeat("x", 40<<20), "", ""}, // a 40 MB cell: the row is over 64 KiB
		ok("b"),
		{"name5k", strings.Repeat("张", 2000), id18, "", "", ""},         // a 6 KB cell
		{"meta9k", name, id18, k3, k3, k3},                              // 9 KiB of the customer's columns
		{"multiline", name, id18, strings.Repeat("行\n", 30000), "", ""}, // 120 KB over 30,000 lines, quoted
		ok("c"),
	}
	p := writeCSV(t, rows)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// And a last line of 20 MB without a newline.
	if _, err := f.WriteString("tail," + strings.Repeat("y", 20<<20)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, alloc, err := parseFile(t, p, ingest.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, []want{
		{2, "a", "", ""},
		{3, "line-3", ingest.CodeTooLarge, ""},
		{4, "b", "", ""},
		{5, "name5k", ingest.CodeTooLarge, "name"},
		{6, "meta9k", ingest.CodeTooLarge, ""},
		{7, "line-7", ingest.CodeTooLarge, ""},
		{30008, "c", "", ""}, // the quoted cell held 30,000 newlines
		{30009, "line-30009", ingest.CodeTooLarge, ""},
	})
	for _, r := range got {
		if r.Err != nil && (r.Input.Name != "" || r.Input.Metadata != "") {
			t.Errorf("line %d: an oversized row kept %d bytes of name and %d of metadata", r.Line, len(r.Input.Name), len(r.Input.Metadata))
		}
	}
	if !strings.Contains(got[1].Err.Error(), fmt.Sprintf("row longer than %d bytes", lim.RecordBytes)) ||
		!strings.Contains(got[3].Err.Error(), "name: 6000 bytes, at most 4096") ||
		!strings.Contains(got[4].Err.Error(), "at most 8192") {
		t.Errorf("reasons: %v | %v | %v", got[1].Err, got[3].Err, got[4].Err)
	}
	if alloc > allocBound {
		t.Errorf("reading allocated %d MiB", alloc>>20)
	}
	t.Logf("60 MB of manifest, %d KiB allocated", alloc>>10)
}

func TestCSVMillionColumns(t *testing.T) {
	many := func(first ...string) []string {
		r := make([]string, 1_000_000)
		copy(r, first)
		for i := len(first); i < len(r); i++ {
			r[i] = fmt.Sprintf("c%d", i)
		}
		return r
	}
	t.Run("in the header", func(t *testing.T) {
		p := writeCSV(t, [][]string{many("ref", "name", "id_number"), many("a", name, id18)})
		got, alloc, err := parseFile(t, p, ingest.ReadOptions{})
		if err == nil || !strings.Contains(err.Error(), "manifest header: row longer than 65536 bytes") || len(got) != 0 {
			t.Fatalf("err %v after %d rows", err, len(got))
		}
		if alloc > allocBound {
			t.Errorf("reading allocated %d MiB", alloc>>20)
		}
	})
	t.Run("257 columns in the header", func(t *testing.T) {
		p := writeCSV(t, [][]string{many("ref", "name", "id_number")[:257]})
		if _, _, err := parseFile(t, p, ingest.ReadOptions{}); err == nil || !strings.Contains(err.Error(), "257 columns, at most 256") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("in a row", func(t *testing.T) {
		p := writeCSV(t, [][]string{{"ref", "name", "id_number"}, {"a", name, id18}, many("wide", name, id18), {"b", name, id18}})
		got, alloc, err := parseFile(t, p, ingest.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, []want{{2, "a", "", ""}, {3, "line-3", ingest.CodeTooLarge, ""}, {4, "b", "", ""}})
		if alloc > allocBound {
			t.Errorf("reading allocated %d MiB", alloc>>20)
		}
	})
}

func TestCSVUnclosedQuoteInABigFile(t *testing.T) {
	// An unclosed quote runs to the end of the file (as encoding/csv reads
	// it): one row, refused, and the memory it takes is a row's.
	var b strings.Builder
	b.WriteString("ref,name,id_number\na," + name + "," + id18 + "\n\"b," + name + "\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "r%d,%s,%s\n", i, name, id18)
	}
	p := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, alloc, err := parseFile(t, p, ingest.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, []want{{2, "a", "", ""}, {3, "line-3", ingest.CodeTooLarge, ""}})
	if alloc > allocBound {
		t.Errorf("reading allocated %d MiB", alloc>>20)
	}
}

func TestJSONOverLimits(t *testing.T) {
	big := strings.Repeat("x", 30<<20)
	items := []map[string]any{
		{"ref": "a", "name": name, "id_number": id18},
		{"ref": "big", "name": name, "id_number": id18, "note": big}, // a 30 MB element
		{"ref": "b", "name": name, "id_number": id18},
		{"ref": "wide", "name": name, "id_number": id18, "tags": strings.Split(strings.Repeat("t,", 3000), ",")},
		{"ref": "c", "name": name, "id_number": id18},
	}
	keys := map[string]any{"ref": "keys"}
	for i := range 300 {
		keys[fmt.Sprintf("k%d", i)] = i
	}
	items = append(items, keys)
	dir := t.TempDir()
	// A JSON array, as encoding/json writes it.
	arr, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	pa := filepath.Join(dir, "m.json")
	if err := os.WriteFile(pa, arr, 0o644); err != nil {
		t.Fatal(err)
	}
	// JSON Lines, as json.Encoder writes them.
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			t.Fatal(err)
		}
	}
	pl := filepath.Join(dir, "m.jsonl")
	if err := os.WriteFile(pl, lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	arr, items = nil, nil
	lines = bytes.Buffer{}
	for _, p := range []string{pa, pl} {
		t.Run(filepath.Ext(p), func(t *testing.T) {
			got, alloc, err := parseFile(t, p, ingest.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, []want{
				{1, "a", "", ""},
				{2, "line-2", ingest.CodeTooLarge, ""},
				{3, "b", "", ""},
				{4, "wide", ingest.CodeTooLarge, "tags"},
				{5, "c", "", ""},
				{6, "line-6", ingest.CodeTooLarge, ""},
			})
			if alloc > allocBound {
				t.Errorf("reading allocated %d MiB", alloc>>20)
			}
			t.Logf("30 MB element: %d KiB allocated", alloc>>10)
		})
	}
}

func TestTooManyRowsOverLimits(t *testing.T) {
	lim := ingest.Limits{TooLargeRows: 3}
	var b strings.Builder
	b.WriteString("ref,name,id_number\n")
	for i := range 20 {
		if i%2 == 0 {
			fmt.Fprintf(&b, "r%d,%s,%s\n", i, strings.Repeat("长", 2000), id18)
		} else {
			fmt.Fprintf(&b, "r%d,%s,%s\n", i, name, id18)
		}
	}
	n := 0
	_, err := ingest.ParseWith(strings.NewReader(b.String()), ingest.ReadOptions{Format: ingest.CSV, Limits: lim},
		func(ingest.Row) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "4 of the 7 rows read are over the size limits") {
		t.Fatalf("more than TooLargeRows: err %v after %d rows", err, n)
	}
	// With the default limits, 10 of 20 rows is not more than half: kept.
	if _, err := ingest.ParseWith(strings.NewReader(b.String()), ingest.ReadOptions{Format: ingest.CSV}, func(ingest.Row) error { return nil }); err != nil {
		t.Fatalf("half the rows over the limits: %v", err)
	}
	// Eleven of twenty-one is.
	b.WriteString("r20," + strings.Repeat("长", 2000) + "," + id18 + "\n")
	if _, err := ingest.ParseWith(strings.NewReader(b.String()), ingest.ReadOptions{Format: ingest.CSV}, func(ingest.Row) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "11 of the 21 rows") {
		t.Fatalf("most rows over the limits: %v", err)
	}
}

func TestRowsLimit(t *testing.T) {
	t.Parallel()
	m := "ref,name,id_number\n" + strings.Repeat("r,"+name+","+id18+"\n", 6)
	_, err := ingest.ParseWith(strings.NewReader(m), ingest.ReadOptions{Format: ingest.CSV, Limits: ingest.Limits{Rows: 5}},
		func(ingest.Row) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "more than 5 rows: split it") {
		t.Fatalf("err %v", err)
	}
	if _, err := ingest.ParseWith(strings.NewReader(m), ingest.ReadOptions{Format: ingest.CSV, Limits: ingest.Limits{Rows: 6}},
		func(ingest.Row) error { return nil }); err != nil {
		t.Fatalf("six rows under a limit of six: %v", err)
	}
}
