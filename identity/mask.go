package identity

import "strings"

// MaskID keeps the first two and last two characters of s and stars the rest
// ("44**************07"). Strings of four characters or fewer are fully starred.
func MaskID(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}

// MaskName keeps the first character of s followed by a single star,
// whatever the length ("张*" for 张三 and for 张三丰), so the mask does not
// reveal the length either. A one-character name becomes "*"; "" stays "".
func MaskName(s string) string {
	r := []rune(s)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	}
	return string(r[0]) + "*"
}
