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
		return transform.NewReader(br, unicode.BOMOverride(withUserDefined(enc, name))), name, nil
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
	return transform.NewReader(br, withUserDefined(enc, name)), name, nil
}

// withUserDefined returns enc's decoder; for GBK and GB18030, one that also
// reads the user-defined areas (see userDefined).
func withUserDefined(enc encoding.Encoding, name string) transform.Transformer {
	switch name {
	case "gbk", EncGB18030:
		return &userDefined{inner: enc.NewDecoder(), gb18030: name == EncGB18030}
	}
	return enc.NewDecoder()
}

// userDefined decodes GBK or GB18030 like inner, except the two-byte codes
// of GBK's user-defined areas, which x/text's decoder (after the WHATWG
// index) turns into U+FFFD: AAA1–AFFE, F8A1–FEFE and A140–A7A0 become the
// Private Use Area code points U+E000–U+E765, as Windows (code page 936),
// glibc's iconv and Python's gb18030 codec read them. Organisations put the
// rare characters of people's names there; a name holding one goes to a
// human (name.private_use) instead of being refused as undecodable.
type userDefined struct {
	inner   transform.Transformer
	gb18030 bool // four-byte sequences exist (in GBK, a digit after a lead byte is an error)
}

func (d *userDefined) Reset() { d.inner.Reset() }

func (d *userDefined) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		n, pua := d.nextUserDefined(src[nSrc:])
		if n > 0 {
			// A segment followed by a user-defined code ends on a character
			// boundary: the inner decoder may treat it as complete.
			nd, ns, err := d.inner.Transform(dst[nDst:], src[nSrc:nSrc+n], atEOF || pua != 0)
			nDst, nSrc = nDst+nd, nSrc+ns
			if err != nil || ns < n {
				return nDst, nSrc, err
			}
		}
		if pua == 0 {
			continue
		}
		if len(dst)-nDst < utf8.RuneLen(pua) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], pua)
		nSrc += 2
	}
	return nDst, nSrc, nil
}

// nextUserDefined walks b character by character as x/text's GBK decoder
// does and returns the offset of the first user-defined two-byte code and
// its code point, or len(b) and 0.
func (d *userDefined) nextUserDefined(b []byte) (int, rune) {
	for i := 0; i < len(b); {
		c0 := b[i]
		if c0 < 0x81 || c0 == 0xff || i+1 >= len(b) {
			i++
			continue
		}
		c1 := b[i+1]
		switch {
		case 0x40 <= c1 && c1 < 0x7f || 0x80 <= c1 && c1 < 0xff:
			if r := userDefinedRune(c0, c1); r != 0 {
				return i, r
			}
			i += 2
		case d.gb18030 && 0x30 <= c1 && c1 < 0x3a && i+3 < len(b) &&
			0x81 <= b[i+2] && b[i+2] < 0xff && 0x30 <= b[i+3] && b[i+3] < 0x3a:
			i += 4
		case d.gb18030 && 0x30 <= c1 && c1 < 0x3a && i+3 >= len(b):
			return len(b), 0 // possibly a four-byte code cut by the buffer: the inner decoder waits for it
		default:
			i++
		}
	}
	return len(b), 0
}

// userDefinedRune maps a code of GBK's user-defined areas to its Private Use
// Area code point (the mapping of GB 18030's two-byte part), 0 for others.
func userDefinedRune(c0, c1 byte) rune {
	trail := func(lo, hi byte) (int, bool) { // position of c1 among the row's trail bytes
		if c1 < lo || c1 > hi || c1 == 0x7f {
			return 0, false
		}
		if c1 > 0x7f {
			return int(c1-lo) - 1, true
		}
		return int(c1 - lo), true
	}
	switch {
	case 0xaa <= c0 && c0 <= 0xaf && c1 >= 0xa1 && c1 <= 0xfe: // 6 rows of 94: U+E000–U+E233
		return 0xe000 + rune(int(c0-0xaa)*94+int(c1-0xa1))
	case 0xf8 <= c0 && c0 <= 0xfe && c1 >= 0xa1 && c1 <= 0xfe: // 7 rows of 94: U+E234–U+E4C5
		return 0xe234 + rune(int(c0-0xf8)*94+int(c1-0xa1))
	case 0xa1 <= c0 && c0 <= 0xa7: // 7 rows of 96 (40–7E, 80–A0): U+E4C6–U+E765
		if t, ok := trail(0x40, 0xa0); ok {
			return 0xe4c6 + rune(int(c0-0xa1)*96+t)
		}
	}
	return 0
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
