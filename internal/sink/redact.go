package sink

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// minSecret is the shortest value Redact and Mentions look for: shorter
// ones (a one-letter file name) would match ordinary words.
const minSecret = 4

// Secret is a value that must not appear in a stored or printed message,
// and what to write in its place.
type Secret struct {
	Value string
	Mask  string
}

// Forms returns the ways a library's message may spell s: as given,
// percent-encoded as a URL path (the way the AWS SDK writes an object key,
// and as url.PathEscape does), as a query value, and Go-quoted (%q and
// %+q). Forms
// shorter than four bytes are left out.
func Forms(s string) []string {
	var out []string
	quoted, ascii := strconv.Quote(s), strconv.QuoteToASCII(s)
	for _, f := range []string{s, escapePath(s), url.PathEscape(s), url.QueryEscape(s),
		quoted[1 : len(quoted)-1], ascii[1 : len(ascii)-1]} {
		if len(f) >= minSecret && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Mentions reports whether msg holds any form (Forms) of any of values.
func Mentions(msg string, values ...string) bool {
	for _, v := range values {
		for _, f := range Forms(v) {
			if strings.Contains(msg, f) {
				return true
			}
		}
	}
	return false
}

// Redact returns msg with every form (Forms) of each secret's value
// replaced by its mask, longest forms first, so that a message a library
// wrote about a file named after a person keeps its sense but not the name.
func Redact(msg string, secrets ...Secret) string {
	type pair struct{ form, mask string }
	var pairs []pair
	for _, s := range secrets {
		for _, f := range Forms(s.Value) {
			pairs = append(pairs, pair{f, s.Mask})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(len(b.form), len(a.form)) })
	for _, p := range pairs {
		msg = strings.ReplaceAll(msg, p.form, p.mask)
	}
	return msg
}

// escapePath percent-encodes every byte but the unreserved ones and "/",
// as the AWS SDK encodes an object key in a request path.
func escapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
