package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names Decode reports and -encoding accepts (besides every name
// of the WHATWG encoding index, such as gbk or utf-16le).
const (
	EncUTF8    = "utf-8"
	EncUTF8BOM = "utf-8 (BOM)"
	EncUTF16LE = "utf-16le (BOM)"
	EncUTF16BE = "utf-16be (BOM)"
	EncGB18030 = "gb18030"
)

// sniffBytes is how much of a manifest decides its encoding and format.
const sniffBytes = 64 << 10

// Decode returns r as UTF-8 text and the name of the encoding it was read
// in. With forced empty the encoding is detected: a byte order mark says
// UTF-8, UTF-16LE or UTF-16BE; otherwise the first 64 KiB decide between
// UTF-8 (valid UTF-8) and GB18030, the superset of GBK that Excel on
// Chinese Windows writes. A forced name is looked up in the WHATWG index
// (utf-8, gbk, gb18030, utf-16le, utf-16be, big5 …); a BOM matching it is
// dropped. Bytes that are not valid in the encoding become U+FFFD, which
// refuses the row (input.encoding).
func Decode(r io.Reader, forced string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", fmt.Errorf("read manifest: %w", err)
	}
	if forced != "" {
		enc, err := htmlindex.Get(strings.ToLower(strings.TrimSpace(forced)))
		if err != nil {
			return nil, "", fmt.Errorf("encoding %q: not a known encoding (utf-8, gbk, gb18030, utf-16le, utf-16be, big5 …)", forced)
		}
		name, _ := htmlindex.Name(enc)
		return transform.NewReader(br, unicode.BOMOverride(enc.NewDecoder())), name, nil
	}
	var enc encoding.Encoding
	name := EncUTF8
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = br.Discard(len(utf8BOM))
		return br, EncUTF8BOM, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		enc, name = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), EncUTF16LE
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		enc, name = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), EncUTF16BE
	case mostlyUTF8(head):
		enc = unicode.UTF8 // invalid bytes become U+FFFD
	default:
		enc, name = simplifiedchinese.GB18030, EncGB18030
	}
	return transform.NewReader(br, enc.NewDecoder()), name, nil
}

// mostlyUTF8 reports whether b reads as UTF-8: it has more multi-byte
// UTF-8 characters than invalid bytes (a UTF-8 file with a stray bad byte
// stays UTF-8 and only that row is refused; GB18030 text is almost never
// valid UTF-8). Plain ASCII is UTF-8.
func mostlyUTF8(b []byte) bool {
	multi, invalid := 0, 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1 && len(b)-i < utf8.UTFMax && utf8.RuneStart(b[i]) && !utf8.FullRune(b[i:]):
			i = len(b) // a character cut off by the sniff window
			continue
		case r == utf8.RuneError && n <= 1:
			invalid++
		case n > 1:
			multi++
		}
		i += n
	}
	return invalid == 0 || multi > invalid
}
