// Package sink makes untrusted text safe for the places it is written to:
// a terminal (control and bidirectional-formatting characters escaped) and a
// spreadsheet cell (formulas neutralised), a stored or printed message
// (names, id numbers and object keys replaced in every spelling a library
// may use: Redact). Everything that came from a manifest, a media store or
// a library's error message goes through it before it reaches an
// operator's screen, a CSV file or a stored error message.
//
// It owns the definition of "a character nobody should see raw" (Control),
// which intake also uses to refuse such characters in refs and header names.
package sink

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Control reports whether r must never reach a terminal raw: C0 controls
// (TAB and LF included), DEL, C1 controls (U+0080–U+009F, among them the
// 8-bit CSI U+009B) and the bidirectional formatting characters that reorder
// what is shown (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), as
// well as the line and paragraph separators U+2028 and U+2029.
func Control(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// FirstControl returns the first rune of s that Control refuses, or an
// invalid UTF-8 byte as utf8.RuneError, and whether there was one.
func FirstControl(s string) (rune, bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return r, true
			}
		}
		if Control(r) {
			return r, true
		}
	}
	return 0, false
}

// Terminal returns s with every Control character written as a Go escape
// (\x1b, \u202e) and every byte that is not UTF-8 as \xNN, so that printing
// it cannot move the cursor, change the title, clear the screen or reorder
// the line. Text without such characters is returned unchanged.
func Terminal(s string) string {
	if _, bad := FirstControl(s); !bad {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && Control(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Control(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// formulaStarts are the first characters that make Excel, WPS, LibreOffice or
// Google Sheets read a cell as a formula (or as a DDE command), with their
// full-width forms, which Chinese input methods type and some spreadsheets
// accept as the ASCII ones.
const formulaStarts = "=+-@\t\r\n＝＋－＠"

// Formula reports whether a spreadsheet would evaluate s as a formula: its
// first character is one of = + - @ TAB CR LF or their full-width forms.
func Formula(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && strings.ContainsRune(formulaStarts, r)
}

// SpreadsheetCell returns s so that a spreadsheet opening the CSV shows it as
// text: a value Formula refuses is prefixed with an apostrophe (the OWASP
// recommendation: Excel and WPS hide it and keep the rest as typed).
func SpreadsheetCell(s string) string {
	if Formula(s) {
		return "'" + s
	}
	return s
}
