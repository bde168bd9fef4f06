package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// An .xlsx workbook is read here rather than by excelize, which inflates
// every part into memory, decodes the shared strings into structures twenty
// times their size and reads a whole sheet to tell a cell's type (a 125 KB
// workbook took 1.1 GB). This reader checks the zip's central directory
// before inflating anything (entries, declared sizes, compression ratios),
// inflates only the parts it needs, each bounded as it streams, holds the
// shared strings compactly and streams the sheet row by row. Number and date
// cells are still formatted by excelize (numberFormats), on a workbook of
// one cell.

// readXLSX reads sheet (the first when empty) of the workbook in r, row by
// row: text cells as they are, number, date and boolean cells as the text
// Excel shows, an id number stored as a number in scientific notation (so
// that it is refused for its lost digits).
func readXLSX(r io.Reader, sheet string, lim *Limits, m *meter, info *Info, fn func(Fields) error) error {
	b, err := io.ReadAll(io.LimitReader(r, lim.XLSXBytes+1))
	if err != nil {
		return fmt.Errorf("manifest: read: %w", err)
	}
	if int64(len(b)) > lim.XLSXBytes {
		return fmt.Errorf("manifest: the workbook is larger than %s: save the sheet as CSV (UTF-8) instead", size(lim.XLSXBytes))
	}
	m.hold(int64(len(b)))
	wb, err := openWorkbook(b, lim, m)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer wb.close()
	sh, err := wb.sheet(sheet)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	info.Sheet = sh.name
	if err := wb.loadSharedStrings(); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	rc, err := wb.open(sh.path, lim.XLSXUnzippedBytes)
	if err != nil {
		return fmt.Errorf("manifest: sheet %s: %w", quote(sh.name), err)
	}
	defer rc.Close()
	sr := &sheetReader{wb: wb, x: wb.xml(rc), idCol: -1}
	err = readTable(sr.next, true, lim, m, info, fn)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// size writes a byte count for a message.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// workbook is an opened .xlsx package.
type workbook struct {
	lim      *Limits
	m        *meter
	files    map[string]*zip.File // by lower-case name
	sheets   []sheetEntry
	strings  string // the shared strings' part, "" when none
	styles   string // the styles' part, "" when none
	date1904 bool
	sst      sharedStrings
	formats  *numberFormats // made at the first number cell
}

type sheetEntry struct{ name, path string }

// openWorkbook checks the zip archive in b from its central directory, then
// reads the package's relationships and its workbook part (sheet names,
// where the sheets, shared strings and styles are).
func openWorkbook(b []byte, lim *Limits, m *meter) (*workbook, error) {
	// archive/zip keeps a structure per central directory entry, reading
	// as many as follow one another: count them before it does.
	if n := bytes.Count(b, []byte("PK\x01\x02")); n > lim.XLSXEntries {
		return nil, fmt.Errorf("the workbook has %d zip entries, at most %d", n, lim.XLSXEntries)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a readable .xlsx workbook (%v): an .xls file, or one with a password? "+
			"save it as .xlsx without a password, or as CSV", err)
	}
	wb := &workbook{lim: lim, m: m, files: make(map[string]*zip.File, len(zr.File))}
	var total uint64
	for _, f := range zr.File {
		name := quote(truncate(f.Name, 60))
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, fmt.Errorf("zip entry %s uses compression method %d (a workbook uses deflate)", name, f.Method)
		}
		unzipped, packed := f.UncompressedSize64, max(f.CompressedSize64, 1)
		if unzipped > ratioGrace && unzipped/packed > uint64(lim.XLSXRatio) {
			return nil, fmt.Errorf("zip entry %s declares %s from %s, more than %d times its size: refused as a zip bomb",
				name, size(int64(min(unzipped, 1<<62))), size(int64(packed)), lim.XLSXRatio)
		}
		if total += unzipped; unzipped > uint64(lim.XLSXUnzippedBytes) || total > uint64(lim.XLSXUnzippedBytes) {
			return nil, fmt.Errorf("the workbook declares more than %s unzipped: refused (save the sheet as CSV)", size(lim.XLSXUnzippedBytes))
		}
		key := strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))
		if wb.files[key] != nil {
			return nil, fmt.Errorf("two zip entries are named %s", name)
		}
		wb.files[key] = f
	}
	if total > ratioGrace && total/uint64(len(b)) > uint64(lim.XLSXRatio) {
		return nil, fmt.Errorf("the workbook declares %s unzipped from %s, more than %d times its size: refused as a zip bomb",
			size(int64(total)), size(int64(len(b))), lim.XLSXRatio)
	}
	return wb, wb.readParts()
}

// close releases the number formatter's workbook.
func (wb *workbook) close() {
	if wb.formats != nil {
		_ = wb.formats.f.Close()
	}
}

// open inflates the named part, refusing it when it declares more than max
// bytes and stopping it when it inflates to more than it declared.
func (wb *workbook) open(name string, max int64) (io.ReadCloser, error) {
	f := wb.files[strings.ToLower(name)]
	if f == nil {
		return nil, fmt.Errorf("the workbook has no part %s", quote(truncate(name, 60)))
	}
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("part %s declares %s unzipped, at most %s", quote(truncate(name, 60)),
			size(int64(min(f.UncompressedSize64, 1<<62))), size(max))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("part %s: %w", quote(truncate(name, 60)), err)
	}
	return &boundedPart{r: rc, left: int64(f.UncompressedSize64), c: rc}, nil
}

// boundedPart stops a part that inflates past its declared size (archive/zip
// checks this too; this does not depend on it).
type boundedPart struct {
	r    io.Reader
	left int64
	c    io.Closer
}

func (p *boundedPart) Read(b []byte) (int, error) {
	if p.left < 0 {
		return 0, errors.New("a part inflates beyond its declared size")
	}
	if int64(len(b)) > p.left+1 {
		b = b[:p.left+1]
	}
	n, err := p.r.Read(b)
	if p.left -= int64(n); p.left < 0 {
		return 0, errors.New("a part inflates beyond its declared size")
	}
	return n, err
}

func (p *boundedPart) Close() error { return p.c.Close() }

// xmlStream reads the tokens of one XML part: at most lim.XMLTokenBytes of
// input per token (encoding/xml holds a whole text, comment or CDATA
// section in memory) and at most lim.XMLDepth levels of elements.
type xmlStream struct {
	d     *xml.Decoder
	g     *tokenGuard
	depth int
	lim   *Limits
	m     *meter
}

func (wb *workbook) xml(r io.Reader) *xmlStream {
	g := &tokenGuard{br: bufio.NewReaderSize(r, 16<<10), limit: wb.lim.XMLTokenBytes}
	d := xml.NewDecoder(g)
	d.Strict = true
	return &xmlStream{d: d, g: g, lim: wb.lim, m: wb.m}
}

// next returns the next token; io.EOF at the end of the part.
func (x *xmlStream) next() (xml.Token, error) {
	x.g.n = 0
	t, err := x.d.Token()
	x.m.xmlToken(x.g.n)
	if err != nil {
		if errors.Is(x.g.err, errXMLToken) {
			return nil, fmt.Errorf("an XML text or tag longer than %s: not written by a spreadsheet (a cell holds at most 32,767 characters)",
				size(int64(x.lim.XMLTokenBytes)))
		}
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("broken XML: %w", err)
	}
	switch t.(type) {
	case xml.StartElement:
		if x.depth++; x.depth > x.lim.XMLDepth {
			return nil, fmt.Errorf("XML elements nested more than %d deep", x.lim.XMLDepth)
		}
	case xml.EndElement:
		x.depth--
	}
	return t, nil
}

var errXMLToken = errors.New("XML token too long")

// tokenGuard counts the bytes encoding/xml reads for one token and fails
// past the limit. It is an io.ByteReader, so the decoder reads no further
// ahead than the token it is on.
type tokenGuard struct {
	br    *bufio.Reader
	limit int
	n     int
	err   error
}

func (g *tokenGuard) ReadByte() (byte, error) {
	if g.n >= g.limit {
		g.err = errXMLToken
		return 0, g.err
	}
	g.n++
	return g.br.ReadByte()
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.n >= g.limit {
		g.err = errXMLToken
		return 0, g.err
	}
	p = p[:min(len(p), g.limit-g.n)]
	n, err := g.br.Read(p)
	g.n += n
	return n, err
}
