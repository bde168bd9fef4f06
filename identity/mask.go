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

// MaskAddress keeps the first six characters of an address (about its
// province and city: "广东省深圳市") followed by a single star, so neither
// the street nor the length shows. Addresses of six characters or fewer
// become "*"; "" stays "".
func MaskAddress(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 6:
		return "*"
	}
	return string(r[:6]) + "*"
}

// MaskDate keeps the year (the first four characters) of a date and stars
// the rest ("1990****" for 19900307, "1990-**-**" for 1990-03-07: the
// separators stay). Strings of four characters or fewer are fully starred.
func MaskDate(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	out := []rune(string(r[:4]))
	for _, c := range r[4:] {
		if c >= '0' && c <= '9' {
			c = '*'
		}
		out = append(out, c)
	}
	return string(out)
}
