// Command submitrss measures the peak memory of `enqueue submit` on the
// worst manifest of each kind: workbooks that are zip bombs, the largest
// workbook intake accepts, a 40 MB CSV cell, a million columns, a 30 MB JSON
// element, a CSV line of 100 MB without a newline, and ordinary manifests of
// one and two million rows (the row limit).
//
//	go run ./bench/submitrss                  # every file; exit 1 if one peaks over -bound
//	go run ./bench/submitrss -only xlsx-bomb  # the files whose name contains this
//
// It builds cmd/enqueue, writes the files with real writers (archive/zip,
// encoding/csv, encoding/json, excelize for the base workbook) into a
// temporary directory, submits each into a fresh database (on
// IVSBATCH_PG_ADMIN_URL, dropped at the end) as a separate process, and reads
// each process's peak resident set from wait4's rusage (ru_maxrss).
//
// A process that Go starts inherits in ru_maxrss the peak of the process
// that started it (Go forks with CLONE_VM, and the kernel keeps the old
// address space's high-water mark at exec), so the files are written by
// child processes (-write) and this one stays small: its own peak, printed
// at the end, is the floor under every figure.
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/identity"
)

// manifest is one file to submit.
type manifest struct {
	name  string
	about string
	write func(path string) error
}

func main() {
	bound := flag.Float64("bound", 256, "peak RSS allowed, MB")
	only := flag.String("only", "", "submit only the files whose name contains this")
	write := flag.String("write", "", "(internal) write the manifest named by -only to this path and exit")
	flag.Parse()
	if *write != "" {
		for _, m := range manifests() {
			if m.name == *only {
				if err := m.write(*write); err != nil {
					fmt.Fprintln(os.Stderr, "bench submitrss: write:", err)
					os.Exit(1)
				}
				return
			}
		}
		fmt.Fprintln(os.Stderr, "bench submitrss: no manifest", *only)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bound, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench submitrss:", err)
		os.Exit(1)
	}
}

func manifests() []manifest {
	return []manifest{
		{"rows-1m.csv", "1,000,000 ordinary rows", func(p string) error { return rowsCSV(p, 1_000_000) }},
		{"rows-2m.csv", "2,000,000 ordinary rows (the row limit)", func(p string) error { return rowsCSV(p, 2_000_000) }},
		{"rows-at-limits.csv", "10,000 rows with 8 KB of metadata each", rowsAtLimits},
		{"xlsx-bomb-sst.xlsx", "shared strings inflating to 51 MB", sstBomb},
		{"xlsx-bomb-declared.xlsx", "2.5 MB declaring 23 GB unzipped", declaredBomb},
		{"xlsx-largest.xlsx", "330,000 rows, 31 MB of shared strings", largestWorkbook},
		{"cell-40mb.csv", "a 40 MB cell", cell40MB},
		{"columns-1m-header.csv", "a header of a million columns", func(p string) error { return millionColumns(p, true) }},
		{"columns-1m-row.csv", "a row of a million columns", func(p string) error { return millionColumns(p, false) }},
		{"element-30mb.json", "a 30 MB JSON array element", element30MB},
		{"line-30mb.jsonl", "a 30 MB JSON line", line30MB},
		{"line-100mb-no-newline.csv", "a 100 MB line without a newline", hugeLine},
	}
}

func run(ctx context.Context, bound float64, only string) error {
	dir, err := os.MkdirTemp("", "ivsbatch-submitrss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/enqueue")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build (run from the repository root): %w", err)
	}
	dbURL, drop, err := servers.CreateDatabase(ctx, "ivsbatch_submitrss")
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "IVSBATCH_DATABASE_URL="+dbURL)
	env = append(env, keyEnv()...)
	fmt.Printf("enqueue submit, peak RSS per manifest (bound %.0f MB)\n", bound)
	fmt.Printf("%-26s %-40s %9s %8s  %s\n", "file", "what", "size", "peak", "outcome")
	over := 0
	for _, m := range manifests() {
		if only != "" && !strings.Contains(m.name, only) {
			continue
		}
		p := filepath.Join(dir, m.name)
		gen := exec.CommandContext(ctx, os.Args[0], "-only", m.name, "-write", p)
		gen.Stdout, gen.Stderr = os.Stderr, os.Stderr
		if err := gen.Run(); err != nil {
			return fmt.Errorf("write %s: %w", m.name, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		rss, wall, outcome, err := submit(ctx, env, filepath.Join(dir, "enqueue"), p)
		if err != nil {
			return err
		}
		if rss > bound {
			over++
			outcome += "  OVER THE BOUND"
		}
		fmt.Printf("%-26s %-40s %9s %6.0f MB  %s (%s)\n", m.name, m.about, mb(fi.Size()), rss, outcome, wall.Round(100*time.Millisecond))
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	fmt.Printf("this benchmark's own peak RSS (the floor under every figure): %s\n", vmHWM())
	if over > 0 {
		return fmt.Errorf("%d manifests took more than %.0f MB", over, bound)
	}
	return nil
}

// vmHWM is this process's peak resident set size from /proc/self/status.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// submit runs enqueue submit on path and returns its peak RSS (MB), its
// wall time and what it said (the batch line, or the refusal).
func submit(ctx context.Context, env []string, enqueue, path string) (float64, time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, enqueue, "submit", "-quiet", "-show-bad", "1", "-name", filepath.Base(path), path)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, "", fmt.Errorf("no rusage for %s", path)
	}
	outcome := ""
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "enqueue:"):
			if i := strings.Index(line, ": manifest"); i >= 0 {
				line = line[i+2:]
			}
			line = "REFUSED: " + strings.TrimPrefix(line, "manifest: ")
			if i := strings.Index(line, " (nothing stored"); i > 0 {
				line = line[:i]
			}
			outcome += strings.TrimSpace(line) + "; "
		case strings.HasPrefix(line, "new batch"):
			if _, after, ok := strings.Cut(line, ": "); ok {
				line = after
			}
			outcome += strings.TrimSpace(line) + "; "
		case strings.HasPrefix(line, "refused:"):
			outcome += strings.TrimSpace(line) + "; "
		}
	}
	if err != nil && !strings.Contains(outcome, "REFUSED") {
		return 0, 0, "", fmt.Errorf("enqueue submit %s: %w\n%s", path, err, out.String())
	}
	return float64(ru.Maxrss) / 1024, wall, strings.TrimSuffix(shorten(outcome), "; "), nil
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 220 {
		return string(r[:220]) + "…"
	}
	return s
}

func mb(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KB", n/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// keyEnv holds random keys for this run's personal data.
func keyEnv() []string {
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	return []string{"IVSBATCH_PII_KEYS=bench:" + base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(index)}
}

// idNumber is the i-th of a series of distinct valid id numbers.
func idNumber(i int) string {
	d := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/999)
	first17 := fmt.Sprintf("110101%s%03d", d.Format("20060102"), 1+i%999)
	c, err := identity.CheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

var family, given = []rune("王李张刘陈杨黄赵吴周"), []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明")

func personName(i int) string {
	return string([]rune{family[i%len(family)], given[(i/len(family))%len(given)], given[(i/7)%len(given)]})
}

// create opens path for writing through a buffer; done flushes and closes.
func create(path string) (*bufio.Writer, func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	return w, func() error {
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	}, nil
}

func rowsCSV(path string, n int) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"ref", "shape", "name", "id_number"})
	for i := range n {
		_ = cw.Write([]string{fmt.Sprintf("r%d", i), "name", personName(i), idNumber(i)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return done()
}

// rowsAtLimits are valid rows as large as the limits let them be: two
// customer columns of 4,000 bytes (7.9 KiB of metadata, the limit is 8 KiB).
func rowsAtLimits(path string) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"ref", "shape", "name", "id_number", "备注", "地址"})
	for i := range 10_000 {
		note := strings.Repeat(string(rune('a'+i%26)), 4000)
		_ = cw.Write([]string{fmt.Sprintf("r%d", i), "name", personName(i), idNumber(i), note, note})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return done()
}

func cell40MB(path string) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"ref", "name", "id_number", "备注"})
	_ = cw.Write([]string{"a", personName(0), idNumber(0), ""})
	_ = cw.Write([]string{"big", personName(1), idNumber(1), strings.Repeat("x", 40<<20)})
	_ = cw.Write([]string{"b", personName(2), idNumber(2), ""})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return done()
}

func millionColumns(path string, inHeader bool) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	wide := make([]string, 1_000_000)
	for i := range wide {
		wide[i] = fmt.Sprintf("c%d", i)
	}
	if inHeader {
		copy(wide, []string{"ref", "name", "id_number"})
		_ = cw.Write(wide)
		_ = cw.Write([]string{"a", personName(0), idNumber(0)})
	} else {
		_ = cw.Write([]string{"ref", "name", "id_number"})
		_ = cw.Write([]string{"a", personName(0), idNumber(0)})
		copy(wide, []string{"wide", personName(1), idNumber(1)})
		_ = cw.Write(wide)
		_ = cw.Write([]string{"b", personName(2), idNumber(2)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return done()
}

func jsonItems() []map[string]any {
	return []map[string]any{
		{"ref": "a", "name": personName(0), "id_number": idNumber(0)},
		{"ref": "big", "name": personName(1), "id_number": idNumber(1), "note": strings.Repeat("x", 30<<20)},
		{"ref": "b", "name": personName(2), "id_number": idNumber(2)},
	}
}

func element30MB(path string) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(jsonItems()); err != nil {
		return err
	}
	return done()
}

func line30MB(path string) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, it := range jsonItems() {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return done()
}

func hugeLine(path string) error {
	w, done, err := create(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ref,name,id_number\na,%s,%s\n", personName(0), idNumber(0))
	chunk := []byte(strings.Repeat("y,", 1<<19))
	for range 100 {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return done()
}

// baseWorkbook is a small manifest written by excelize.
func baseWorkbook() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range [][]any{{"ref", "name", "id_number"}, {"a", personName(0), idNumber(0)}} {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	err := f.Write(&b)
	return b.Bytes(), err
}

// rezip copies the workbook's entries (compressed bytes as they are), but
// lets replace write its own for the entries it names, and add append more.
func rezip(path string, base []byte, replace map[string]func(*zip.Writer) error, add func(*zip.Writer) error) error {
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		if fn, ok := replace[e.Name]; ok {
			if err := fn(zw); err != nil {
				return err
			}
			continue
		}
		if err := zw.Copy(e); err != nil {
			return err
		}
	}
	if add != nil {
		if err := add(zw); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// deflatedEntry writes an entry compressed at the best level, as a zip
// bomb's maker would, from what gen writes.
func deflatedEntry(zw *zip.Writer, name string, gen func(io.Writer) error) error {
	var raw bytes.Buffer
	fw, err := flate.NewWriter(&raw, flate.BestCompression)
	if err != nil {
		return err
	}
	h := crc32.NewIEEE()
	cw := &countWriter{w: io.MultiWriter(fw, h)}
	if err := gen(cw); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: h.Sum32(),
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: uint64(cw.n)})
	if err != nil {
		return err
	}
	_, err = w.Write(raw.Bytes())
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const sstHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
	`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`

// sstBomb is a workbook whose shared strings are three million one-letter
// strings: 51 MB of XML in about 125 KB.
func sstBomb(path string) error {
	base, err := baseWorkbook()
	if err != nil {
		return err
	}
	const n = 3_000_000
	return rezip(path, base, map[string]func(*zip.Writer) error{
		"xl/sharedStrings.xml": func(zw *zip.Writer) error {
			return deflatedEntry(zw, "xl/sharedStrings.xml", func(w io.Writer) error {
				bw := bufio.NewWriterSize(w, 1<<16)
				fmt.Fprintf(bw, sstHead, n, n)
				for range n {
					bw.WriteString("<si><t>x</t></si>")
				}
				bw.WriteString("</sst>")
				return bw.Flush()
			})
		},
	}, nil)
}

// declaredBomb is a workbook with ten entries of 250 KB that declare 2.3 GB
// each (the entries' headers say what their maker wants).
func declaredBomb(path string) error {
	base, err := baseWorkbook()
	if err != nil {
		return err
	}
	return rezip(path, base, nil, func(zw *zip.Writer) error {
		for i := range 10 {
			raw := make([]byte, 250_000)
			_, _ = rand.Read(raw)
			w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("xl/media/image%d.png", i), Method: zip.Deflate,
				CompressedSize64: uint64(len(raw)), UncompressedSize64: 2_300_000_000})
			if err != nil {
				return err
			}
			if _, err := w.Write(raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// largestWorkbook is a workbook near the limits intake accepts: 330,000
// rows whose ref, name and id number are each a distinct shared string
// (31 MB of shared strings, the limit is 32 MiB), as Excel writes them.
func largestWorkbook(path string) error {
	base, err := baseWorkbook()
	if err != nil {
		return err
	}
	const rows = 330_000
	return rezip(path, base, map[string]func(*zip.Writer) error{
		"xl/sharedStrings.xml": func(zw *zip.Writer) error {
			return deflatedEntry(zw, "xl/sharedStrings.xml", func(w io.Writer) error {
				bw := bufio.NewWriterSize(w, 1<<16)
				fmt.Fprintf(bw, sstHead, 3*(rows+1), 3*(rows+1))
				for _, s := range []string{"ref", "name", "id_number"} {
					fmt.Fprintf(bw, "<si><t>%s</t></si>", s)
				}
				for i := range rows {
					fmt.Fprintf(bw, "<si><t>customer-ref-%08d</t></si><si><t>%s</t></si><si><t>%s</t></si>", i, personName(i), idNumber(i))
				}
				bw.WriteString("</sst>")
				return bw.Flush()
			})
		},
		"xl/worksheets/sheet1.xml": func(zw *zip.Writer) error {
			return deflatedEntry(zw, "xl/worksheets/sheet1.xml", func(w io.Writer) error {
				bw := bufio.NewWriterSize(w, 1<<16)
				fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"+
					`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:C%d"/><sheetData>`, rows+1)
				for r := 1; r <= rows+1; r++ {
					s := 3 * (r - 1)
					fmt.Fprintf(bw, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c></row>`,
						r, r, s, r, s+1, r, s+2)
				}
				bw.WriteString("</sheetData></worksheet>")
				return bw.Flush()
			})
		},
	}, nil)
}
