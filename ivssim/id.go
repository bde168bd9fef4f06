package ivssim

import (
	"strings"
	"time"
	"unicode"
)

var (
	idWeights    = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheckChars = "10X98765432"
)

// normalizeID checks a 15- or 18-character id number and returns its
// 18-character form, or the IVS.0011 detail explaining what is wrong.
func normalizeID(s string) (string, string) {
	s = strings.ToUpper(s)
	switch len(s) {
	case 18:
		if !allDigits(s[:17]) || !validDate(s[6:14]) || checkChar(s[:17]) != s[17] {
			return "", "verification_id is invalid"
		}
		return s, ""
	case 15:
		if !allDigits(s) || !validDate("19"+s[6:12]) {
			return "", "verification_id is invalid"
		}
		body := s[:6] + "19" + s[6:]
		return body + string(checkChar(body)), ""
	}
	return "", "verification_id length must equal 15 or 18"
}

// checkChar is the ISO 7064 MOD 11-2 check character of 17 digits.
func checkChar(digits17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(digits17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validDate(yyyymmdd string) bool {
	t, err := time.Parse("20060102", yyyymmdd)
	return err == nil && t.Year() >= 1800
}

// validName accepts Han characters, the middle dot of minority names and
// Private Use Area code points (rare characters as the authority stores
// them: they pass validation and then fail to match, 2001).
func validName(s string) bool {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r), r == '·', r >= 0xE000 && r <= 0xF8FF:
		default:
			return false
		}
	}
	return s != ""
}
