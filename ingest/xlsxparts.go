package ingest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

// readParts reads the package's relationships and the workbook part: the
// sheets in order, and where the shared strings and styles are.
func (wb *workbook) readParts() error {
	wbPath := "xl/workbook.xml"
	if wb.files["_rels/.rels"] != nil {
		rels, err := wb.readRels("_rels/.rels", "")
		if err != nil {
			return err
		}
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				wbPath = r.target
				break
			}
		}
	}
	dir := path.Dir(wbPath)
	rels, err := wb.readRels(path.Join(dir, "_rels", path.Base(wbPath)+".rels"), dir)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, r := range rels {
		switch {
		case strings.HasSuffix(r.typ, "/sharedStrings"):
			wb.strings = r.target
		case strings.HasSuffix(r.typ, "/styles"):
			wb.styles = r.target
		}
		byID[r.id] = r.target
	}
	x, closePart, err := wb.part(wbPath)
	if err != nil {
		return err
	}
	defer closePart()
	for {
		t, err := x.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("workbook part: %w", err)
		}
		start, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		switch start.Name.Local {
		case "workbookPr":
			v := attr(start, "date1904")
			wb.date1904 = v == "1" || v == "true"
		case "sheet":
			if len(wb.sheets) >= wb.lim.Sheets {
				return fmt.Errorf("the workbook has more than %d sheets", wb.lim.Sheets)
			}
			wb.sheets = append(wb.sheets, sheetEntry{name: attr(start, "name"), path: byID[attr(start, "id")]})
		}
	}
	if len(wb.sheets) == 0 {
		return errors.New("the workbook has no sheet")
	}
	return nil
}

type relationship struct{ id, typ, target string }

// readRels reads a relationships part; targets are resolved against dir.
func (wb *workbook) readRels(name, dir string) ([]relationship, error) {
	x, closePart, err := wb.part(name)
	if err != nil {
		return nil, err
	}
	defer closePart()
	var rels []relationship
	for {
		t, err := x.next()
		if errors.Is(err, io.EOF) {
			return rels, nil
		}
		if err != nil {
			return nil, fmt.Errorf("relationships: %w", err)
		}
		if start, ok := t.(xml.StartElement); ok && start.Name.Local == "Relationship" && attr(start, "TargetMode") != "External" {
			target := attr(start, "Target")
			if strings.HasPrefix(target, "/") {
				target = path.Clean(target[1:])
			} else {
				target = path.Clean(path.Join(dir, target))
			}
			rels = append(rels, relationship{id: attr(start, "Id"), typ: attr(start, "Type"), target: target})
			if len(rels) > wb.lim.XLSXEntries {
				return nil, errors.New("relationships: more than there are zip entries")
			}
		}
	}
}

// part opens a small part (at most lim.XLSXPartBytes) as XML.
func (wb *workbook) part(name string) (*xmlStream, func(), error) {
	rc, err := wb.open(name, wb.lim.XLSXPartBytes)
	if err != nil {
		return nil, nil, err
	}
	return wb.xml(rc), func() { rc.Close() }, nil
}

// attr is the value of the attribute with this local name ("" when none).
func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// sheet picks the named sheet, or the first. A sheet whose name holds a
// control character is refused: its name is printed and stored.
func (wb *workbook) sheet(name string) (sheetEntry, error) {
	pick := wb.sheets[0]
	if name != "" {
		found := false
		for _, s := range wb.sheets {
			if s.name == name {
				pick, found = s, true
				break
			}
		}
		if !found {
			names := make([]string, 0, min(len(wb.sheets), 20))
			for _, s := range wb.sheets[:cap(names)] {
				names = append(names, quote(truncate(s.name, 40)))
			}
			return sheetEntry{}, fmt.Errorf("workbook has no sheet %s (sheets: %s)", quote(truncate(name, 40)), strings.Join(names, ", "))
		}
	}
	if r, bad := sink.FirstControl(pick.name); bad {
		return sheetEntry{}, fmt.Errorf("the sheet's name %s holds a control character (%U): rename the sheet", quote(truncate(pick.name, 40)), r)
	}
	if pick.path == "" || wb.files[strings.ToLower(pick.path)] == nil {
		return sheetEntry{}, fmt.Errorf("sheet %s has no part in the workbook", quote(truncate(pick.name, 40)))
	}
	return pick, nil
}

// sharedStrings holds a workbook's shared strings in one block of text: a
// string longer than the cell limit is not kept, only marked.
type sharedStrings struct {
	text []byte
	ends []uint32 // end of string i in text; longString set: not kept
}

const longString = 1 << 31

// get returns shared string i, and whether it was too long to keep.
func (s *sharedStrings) get(i int) (v string, long, ok bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false, false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1] &^ longString
	}
	end := s.ends[i]
	if end&longString != 0 {
		return "", true, true
	}
	return string(s.text[start:end]), false, true
}

// loadSharedStrings reads the shared strings part (at most
// lim.SharedStringsBytes inflated, lim.SharedStrings strings): each
// string's text runs (<t>), without phonetic guides (<rPh>).
func (wb *workbook) loadSharedStrings() error {
	if wb.strings == "" {
		if wb.files["xl/sharedstrings.xml"] == nil {
			return nil
		}
		wb.strings = "xl/sharedStrings.xml"
	}
	rc, err := wb.open(wb.strings, wb.lim.SharedStringsBytes)
	if err != nil {
		return fmt.Errorf("shared strings: %w", err)
	}
	defer rc.Close()
	// The text is at most the part's size: one allocation.
	wb.sst.text = make([]byte, 0, wb.files[strings.ToLower(wb.strings)].UncompressedSize64)
	x := wb.xml(rc)
	var (
		in          bool // in <si>
		inT, inRPh  int
		cur         []byte
		long        bool
		sstDepth    int
		limitCells  = wb.lim.CellBytes
		limitString = wb.lim.SharedStrings
	)
	for {
		t, err := x.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("shared strings: %w", err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sst":
				sstDepth = x.depth
				if n, err := strconv.Atoi(attr(t, "uniqueCount")); err == nil && n > limitString {
					return fmt.Errorf("the workbook declares %d shared strings, at most %d", n, limitString)
				}
			case "si":
				if x.depth == sstDepth+1 {
					in, inT, inRPh, cur, long = true, 0, 0, cur[:0], false
				}
			case "t":
				inT++
			case "rPh":
				inRPh++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if !in || x.depth != sstDepth {
					continue
				}
				in = false
				if len(wb.sst.ends) >= limitString {
					return fmt.Errorf("shared strings: more than %d", limitString)
				}
				end := uint32(len(wb.sst.text))
				if long {
					end |= longString
				} else {
					wb.sst.text = append(wb.sst.text, cur...)
					end = uint32(len(wb.sst.text))
				}
				wb.sst.ends = append(wb.sst.ends, end)
			case "t":
				inT--
			case "rPh":
				inRPh--
			}
		case xml.CharData:
			if in && inT > 0 && inRPh == 0 && !long {
				if len(cur)+len(t) > limitCells {
					long = true
				} else {
					cur = append(cur, t...)
				}
			}
		}
	}
	wb.m.hold(int64(cap(wb.sst.text) + 4*cap(wb.sst.ends)))
	return nil
}
