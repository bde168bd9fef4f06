package ivs

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SignAlgorithm is the algorithm name of Huawei Cloud's AK/SK signature.
const SignAlgorithm = "SDK-HMAC-SHA256"

// Header names used by AK/SK signing.
const (
	HeaderSdkDate       = "X-Sdk-Date"
	HeaderProjectID     = "X-Project-Id"
	HeaderAuthorization = "Authorization"
)

// SdkDateFormat is the layout of the X-Sdk-Date header (always UTC).
const SdkDateFormat = "20060102T150405Z"

// Signer signs requests with an access key and secret key the way the
// official Huawei Cloud SDK does (SDK-HMAC-SHA256). ProjectID, when set, is
// sent and signed as X-Project-Id.
type Signer struct {
	AK, SK, ProjectID string
}

// Sign sets X-Sdk-Date (from now, in UTC), X-Project-Id (if ProjectID is set)
// and Authorization on r. body must be the exact bytes that will be sent.
// Every header present on r when Sign is called, except those
// SignedHeaderNames leaves out, is signed, so set all other headers first.
func (s Signer) Sign(r *http.Request, body []byte, now time.Time) error {
	if s.AK == "" || s.SK == "" {
		return errors.New("sign: access key and secret key are required")
	}
	date := now.UTC().Format(SdkDateFormat)
	r.Header.Set(HeaderSdkDate, date)
	if s.ProjectID != "" {
		r.Header.Set(HeaderProjectID, s.ProjectID)
	}
	r.Header.Del(HeaderAuthorization)
	signed := SignedHeaderNames(r.Header)
	sts := StringToSign(SignAlgorithm, date, CanonicalRequest(r, body, signed))
	r.Header.Set(HeaderAuthorization, AuthorizationValue(s.AK, signed, SignatureHex(s.SK, sts)))
	return nil
}

// AuthorizationValue formats the Authorization header value.
func AuthorizationValue(ak string, signedHeaders []string, signature string) string {
	return fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
		SignAlgorithm, ak, strings.Join(signedHeaders, ";"), signature)
}

// SignedHeaderNames returns the names of the headers in h that are signed:
// all of them, lowercased and sorted, except names starting with
// "content-type" and names containing '_'. Host is never in h for a Go
// request, so it is never signed.
func SignedHeaderNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(lk, "_") || lk == "host" {
			continue
		}
		if !slices.Contains(names, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	return names
}

// CanonicalRequest builds the canonical request: method, canonical URI,
// canonical query, canonical headers (of signedHeaders), the signed header
// list and the hex SHA-256 of body, joined by '\n'. The verifying side calls
// it with the SignedHeaders parsed from Authorization.
func CanonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL.Path),
		canonicalQuery(r),
		canonicalHeaders(r, signedHeaders),
		strings.Join(signedHeaders, ";"),
		hex.EncodeToString(sum[:]),
	}, "\n")
}

// StringToSign returns "<algorithm>\n<sdkDate>\n<hex sha256(canonicalRequest)>".
func StringToSign(algorithm, sdkDate, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return algorithm + "\n" + sdkDate + "\n" + hex.EncodeToString(sum[:])
}

// SignatureHex returns the hex HMAC-SHA256 of stringToSign keyed with the raw sk.
func SignatureHex(sk, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// ParseAuthorization splits an SDK-HMAC-SHA256 Authorization header value
// into the access key, the signed header names and the hex signature.
func ParseAuthorization(v string) (ak string, signedHeaders []string, signature string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), SignAlgorithm+" ")
	if !ok {
		return "", nil, "", fmt.Errorf("authorization: algorithm is not %s", SignAlgorithm)
	}
	var sh string
	var seen int
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, "", fmt.Errorf("authorization: malformed part %q", part)
		}
		switch k {
		case "Access":
			ak, seen = val, seen|1
		case "SignedHeaders":
			sh, seen = val, seen|2
		case "Signature":
			signature, seen = val, seen|4
		default:
			return "", nil, "", fmt.Errorf("authorization: unknown part %q", k)
		}
	}
	if seen != 7 || ak == "" || signature == "" {
		return "", nil, "", errors.New("authorization: Access, SignedHeaders and Signature are all required")
	}
	if sh != "" {
		signedHeaders = strings.Split(sh, ";")
	}
	return ak, signedHeaders, signature, nil
}

// canonicalURI escapes each path segment and makes sure the result ends in '/'.
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = sdkEscape(s)
	}
	u := strings.Join(segs, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// canonicalQuery sorts keys, then each key's values, escaping both.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		vals := slices.Clone(q[k])
		slices.Sort(vals)
		for _, v := range vals {
			parts = append(parts, sdkEscape(k)+"="+sdkEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// canonicalHeaders writes one "name:trimmed-value\n" line per value of each
// signed header (values sorted), as the SDK does.
func canonicalHeaders(r *http.Request, signed []string) string {
	lower := make(map[string][]string, len(r.Header))
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		lower[lk] = append(lower[lk], v...)
	}
	var b strings.Builder
	for _, name := range signed {
		vals := lower[name]
		if name == "host" {
			vals = []string{cmp.Or(r.Host, r.URL.Host)}
		}
		vals = slices.Clone(vals)
		slices.Sort(vals)
		for _, v := range vals {
			b.WriteString(name + ":" + strings.TrimSpace(v) + "\n")
		}
	}
	return b.String()
}

// sdkEscape percent-encodes every byte outside A-Za-z0-9-_.~ as %XX.
func sdkEscape(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}
