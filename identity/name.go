package identity

import (
	"fmt"
	"strings"
	"unicode"
)

// MaxNameRunes is the longest name accepted, in characters.
const MaxNameRunes = 64

// MiddleDot is the separator of minority names (U+00B7), the only non-Han
// character IVS accepts in a name.
const MiddleDot = '\u00B7'

// dotLookalikes are characters people type instead of U+00B7.
var dotLookalikes = map[rune]bool{
	'\u002E': true, // . full stop
	'\uFF0E': true, // ． full-width full stop
	'\u2022': true, // • bullet
	'\u2027': true, // ‧ hyphenation point
	'\u30FB': true, // ・ katakana middle dot
	'\uFF65': true, // ･ half-width katakana middle dot
	'\u2219': true, // ∙ bullet operator
	'\u22C5': true, // ⋅ dot operator
	'\u0387': true, // · Greek ano teleia
	'\u2E31': true, // ⸱ word separator middle dot
}

// NormalizeName trims surrounding spaces, replaces middle-dot look-alikes
// (. ． • ‧ ・ ･ ∙ ⋅ and similar) with U+00B7, drops spaces around a dot
// ("买买提 · 艾力" → "买买提·艾力"), and checks what is left: only Han
// ideographs (every CJK Unified Ideographs block, compatibility ideographs
// and 〇) and middle dots that are neither first, last nor doubled.
// Private Use Area characters give name.private_use (a human must look);
// anything else gives name.chars. Errors are *Error with a name.* code.
func NormalizeName(s string) (string, error) {
	r := []rune(mapDots(trim(s)))
	r = dropSpacesAroundDots(r)
	switch {
	case len(r) == 0:
		return "", newError(CodeNameEmpty, "name is empty")
	case len(r) > MaxNameRunes:
		return "", newError(CodeNameTooLong, fmt.Sprintf("name has %d characters, at most %d allowed", len(r), MaxNameRunes))
	}
	if err := checkNameRunes(r); err != nil {
		return "", err
	}
	return string(r), nil
}

func mapDots(s string) string {
	return strings.Map(func(r rune) rune {
		if dotLookalikes[r] {
			return MiddleDot
		}
		return r
	}, s)
}

func dropSpacesAroundDots(r []rune) []rune {
	out := make([]rune, 0, len(r))
	for i, c := range r {
		if unicode.IsSpace(c) && (nextNonSpace(r, i) == MiddleDot || len(out) > 0 && out[len(out)-1] == MiddleDot) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func nextNonSpace(r []rune, i int) rune {
	for ; i < len(r); i++ {
		if !unicode.IsSpace(r[i]) {
			return r[i]
		}
	}
	return 0
}

// checkNameRunes reports name.chars before name.private_use: a name that is
// wrong anyway is not worth a human's time.
func checkNameRunes(r []rune) error {
	privateAt := 0
	for i, c := range r {
		pos := i + 1
		switch {
		case c == MiddleDot:
			if i == 0 || i == len(r)-1 || r[i-1] == MiddleDot {
				return newError(CodeNameChars, fmt.Sprintf("middle dot at character %d is leading, trailing or doubled", pos))
			}
		case isNameHan(c):
		case unicode.Is(unicode.Co, c):
			if privateAt == 0 {
				privateAt = pos
			}
		default:
			return newError(CodeNameChars, fmt.Sprintf("character %d (%s) is not a Han character or middle dot", pos, describe(c)))
		}
	}
	if privateAt > 0 {
		return newError(CodeNamePrivateUse, fmt.Sprintf("character %d is a Private Use Area code point: needs manual review", privateAt))
	}
	return nil
}

// isNameHan reports whether c is a Han ideograph, excluding the radical
// blocks (⺀–⿕), which look like ideographs but are not, and the
// iteration mark 々, which Chinese names do not use.
func isNameHan(c rune) bool {
	if c >= 0x2E80 && c <= 0x2FDF || c == 0x3005 {
		return false
	}
	return unicode.Is(unicode.Han, c)
}

// describe names the kind of a refused character without repeating the name.
func describe(c rune) string {
	switch {
	case c < 0x80 && unicode.IsLetter(c):
		return "a Latin letter"
	case unicode.IsDigit(c):
		return "a digit"
	case unicode.IsSpace(c):
		return "a space"
	case unicode.IsLetter(c):
		return fmt.Sprintf("letter U+%04X", c)
	}
	return fmt.Sprintf("U+%04X", c)
}
