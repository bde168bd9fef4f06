package ingest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
)

// readCSV reads delimited text: a recordSplitter cuts it into records of at
// most lim.RecordBytes, which encoding/csv then splits into fields.
// encoding/csv alone holds a whole record however long it is (a 40 MB cell,
// a quote never closed); the splitter skips an oversized record without
// holding it, so it can be refused as input.too_large and reading go on.
func readCSV(r io.Reader, delim rune, lim *Limits, m *meter, info *Info, fn func(Fields) error) error {
	return readTable(csvRecords(r, delim, lim, m), false, lim, m, info, fn)
}

// csvRecords returns readTable's next over delimited text.
func csvRecords(r io.Reader, delim rune, lim *Limits, m *meter) func() ([]string, int, error, error) {
	sp := &recordSplitter{br: bufio.NewReaderSize(r, 64<<10), delim: byte(delim), limit: lim.RecordBytes, m: m}
	var feed feeder
	var cr *csv.Reader
	reset := func() {
		feed = feeder{}
		cr = csv.NewReader(&feed)
		cr.Comma, cr.FieldsPerRecord, cr.ReuseRecord, cr.LazyQuotes = delim, -1, true, false
	}
	reset()
	return func() ([]string, int, error, error) {
		for {
			rec, line, over, err := sp.next()
			if err != nil {
				return nil, 0, nil, err
			}
			if over {
				return nil, line, tooLarge("", "row longer than %d bytes (a cell too long, or a quote never closed?)", lim.RecordBytes), nil
			}
			if blankLine(rec) {
				continue // encoding/csv skips empty lines
			}
			feed.b, feed.total = rec, feed.total+int64(len(rec))
			fields, err := cr.Read()
			if cr.InputOffset() != feed.total || len(feed.b) != 0 {
				// encoding/csv saw the record's end elsewhere than the
				// splitter: never expected, but start afresh rather than
				// let one record's bytes run into the next.
				reset()
				return nil, line, errors.New("unreadable quoting"), nil
			}
			if errors.Is(err, io.EOF) {
				continue // only "\r": nothing
			}
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				return nil, line, pe.Err, nil
			}
			if err != nil {
				return nil, line, err, nil
			}
			return fields, line, nil, nil
		}
	}
}

// blankLine reports whether rec is an empty line, which encoding/csv skips.
func blankLine(rec []byte) bool {
	return len(rec) == 0 || string(rec) == "\n" || string(rec) == "\r\n"
}

// feeder hands encoding/csv one record at a time.
type feeder struct {
	b     []byte
	total int64 // bytes handed over so far
}

func (f *feeder) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// recordSplitter cuts delimited text into records where encoding/csv (with
// LazyQuotes off) ends them: at a newline, unless the line ends inside a
// quoted field. A quote opens a quoted field only as a field's first
// character (elsewhere it is an error); inside one, "" is a quote, and a
// closing quote must be followed by the delimiter or the end of the line.
// After an error the record ends with its line. FuzzCSV checks it against
// encoding/csv reading the whole text.
type recordSplitter struct {
	br    *bufio.Reader
	delim byte
	limit int
	m     *meter
	buf   []byte
	lines int // physical lines consumed
}

type splitState uint8

const (
	fieldStart splitState = iota
	unquoted              // in a field without quotes
	quoted                // in a quoted field
	quoteSeen             // after a quote in a quoted field
	quoteCR               // after a quote and a CR in a quoted field
	broken                // the rest of the line does not matter
)

// next returns the next record, with its final newline if it has one, and
// the line it starts on. A record longer than the limit is read to its end
// but not kept: over is set and rec is nil. At the end of the input err is
// io.EOF.
func (s *recordSplitter) next() (rec []byte, line int, over bool, err error) {
	s.buf = s.buf[:0]
	state, started, size := fieldStart, false, 0
	for {
		chunk, rerr := s.br.ReadSlice('\n')
		if len(chunk) > 0 && !started {
			started, line = true, s.lines+1
		}
		end := false
		for _, c := range chunk {
			switch state {
			case fieldStart:
				switch c {
				case '"':
					state = quoted
				case s.delim:
				case '\n':
					end = true
				default:
					state = unquoted
				}
			case unquoted:
				switch c {
				case s.delim:
					state = fieldStart
				case '\n':
					end = true
				case '"':
					state = broken // a bare quote: encoding/csv gives up on the line
				}
			case quoted:
				if c == '"' {
					state = quoteSeen
				}
			case quoteSeen:
				switch c {
				case '"':
					state = quoted
				case s.delim:
					state = fieldStart
				case '\n':
					end = true
				case '\r':
					state = quoteCR
				default:
					state = broken
				}
			case quoteCR:
				if c == '\n' {
					end = true
				} else {
					state = broken
				}
			case broken:
				if c == '\n' {
					end = true
				}
			}
			if c == '\n' {
				s.lines++
			}
		}
		size += len(chunk)
		if size <= s.limit {
			s.buf = append(s.buf, chunk...)
			s.m.row(cap(s.buf))
		} else {
			over = true
		}
		switch {
		case end:
			return s.result(line, over)
		case rerr == nil || errors.Is(rerr, bufio.ErrBufferFull):
			continue
		case errors.Is(rerr, io.EOF) && started:
			return s.result(line, over)
		default:
			return nil, 0, false, rerr
		}
	}
}

func (s *recordSplitter) result(line int, over bool) ([]byte, int, bool, error) {
	if over {
		return nil, line, true, nil
	}
	return s.buf, line, false, nil
}
