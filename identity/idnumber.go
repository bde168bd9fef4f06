package identity

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// chinaZone is UTC+8, the zone in which "today" is judged for birth dates.
var chinaZone = time.FixedZone("CST", 8*60*60)

// checkWeights are the GB 11643 / ISO 7064 MOD 11-2 weights of the first 17 digits.
var checkWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChars maps the weighted sum mod 11 to the check character.
const checkChars = "10X98765432"

// Validator checks id numbers against an injectable clock. The zero value
// uses time.Now.
type Validator struct {
	// Now returns the current time; birth dates after today (in China, UTC+8)
	// are refused. Nil means time.Now.
	Now func() time.Time
}

// NormalizeIDNumber normalises and checks s with the real clock; see
// Validator.NormalizeIDNumber.
func NormalizeIDNumber(s string) (string, error) { return Validator{}.NormalizeIDNumber(s) }

// NormalizeIDNumber trims surrounding spaces (including the ideographic space
// U+3000), turns full-width digits and X into ASCII, upper-cases x, converts
// an old 15-character number to 18 characters (inserting "19" and appending
// the check character) and checks region, birth date and check character.
// Errors are *Error with one of the id.* codes.
func (v Validator) NormalizeIDNumber(s string) (string, error) {
	s = toASCII(trim(s))
	n := len([]rune(s))
	if n != 15 && n != 18 {
		return "", newError(CodeIDLength, fmt.Sprintf("id number has %d characters, want 18 (or the old 15)", n))
	}
	if err := checkChars18or15(s); err != nil {
		return "", err
	}
	if n == 15 {
		return v.from15(s)
	}
	if err := v.checkBody(s[:17]); err != nil {
		return "", err
	}
	want, _ := CheckChar(s[:17])
	if s[17] != want {
		return "", newError(CodeIDCheck, fmt.Sprintf("id number %s: check character does not match", MaskID(s)))
	}
	return s, nil
}

func (v Validator) from15(s string) (string, error) {
	first17 := s[:6] + "19" + s[6:]
	if err := v.checkBody(first17); err != nil {
		return "", err
	}
	c, _ := CheckChar(first17)
	return first17 + string(c), nil
}

// checkBody checks the region and birth date of the first 17 digits.
func (v Validator) checkBody(first17 string) error {
	if !ValidProvince(first17[:2]) {
		return newError(CodeIDRegion, fmt.Sprintf("id number %s: region code does not start with a province code", MaskID(first17)))
	}
	birth, err := time.ParseInLocation("20060102", first17[6:14], chinaZone)
	if err != nil || birth.Year() < 1900 {
		return newError(CodeIDDate, fmt.Sprintf("id number %s: birth date is not a calendar date from 1900 on", MaskID(first17)))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	y, m, d := now().In(chinaZone).Date()
	if birth.After(time.Date(y, m, d, 0, 0, 0, 0, chinaZone)) {
		return newError(CodeIDFuture, fmt.Sprintf("id number %s: birth date is in the future", MaskID(first17)))
	}
	return nil
}

// CheckChar returns the MOD 11-2 check character ('0'–'9' or 'X') for the
// first 17 digits of an id number.
func CheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, newError(CodeIDLength, fmt.Sprintf("check character needs 17 digits, got %d characters", len(first17)))
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, newError(CodeIDChars, fmt.Sprintf("character %d of the id number is not a digit", i+1))
		}
		sum += int(c-'0') * checkWeights[i]
	}
	return checkChars[sum%11], nil
}

// checkChars18or15 requires digits everywhere except an X as the 18th character.
func checkChars18or15(s string) error {
	for i, r := range []rune(s) {
		if r >= '0' && r <= '9' || r == 'X' && i == 17 {
			continue
		}
		return newError(CodeIDChars, fmt.Sprintf("character %d of the id number is not a digit (or a final X)", i+1))
	}
	return nil
}

// toASCII maps full-width digits and X to ASCII and x to X.
func toASCII(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return r - '０' + '0'
		case r == 'x', r == 'Ｘ', r == 'ｘ':
			return 'X'
		}
		return r
	}, s)
}

// trim removes surrounding white space (Unicode, including U+3000) and the
// invisible characters spreadsheets leave behind (BOM, zero-width space).
func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
	})
}
