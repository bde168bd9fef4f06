package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature, as Stripe's and Persona's
// do: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". A
// receiver recomputes the HMAC over the raw body it received and refuses a
// timestamp outside its tolerance (a replayed delivery).
const SignatureHeader = "Ivsbatch-Signature"

// DefaultTolerance is how old (or how far ahead) a signature's timestamp
// may be before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// The reasons Verify refuses a delivery.
var (
	ErrNoSignature    = errors.New("webhook: no signature, or not in the form t=…,v1=…")
	ErrBadSignature   = errors.New("webhook: signature does not match the body")
	ErrStaleSignature = errors.New("webhook: signature timestamp outside the tolerance (replayed?)")
)

// Sign returns the header value signing body with secret at time at.
func Sign(secret, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header (the Ivsbatch-Signature value) against the raw body
// and secret, and that its timestamp is within tolerance of now (0 means
// DefaultTolerance). Any v1 entry may match: during a secret rotation a
// sender may sign with both. Receivers call it before parsing the body.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var t string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			t = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, t, body)
	matched := false
	for _, s := range sigs {
		matched = matched || hmac.Equal(s, want)
	}
	if !matched {
		return ErrBadSignature
	}
	if age := now.Sub(time.Unix(unix, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed %s ago", ErrStaleSignature, age.Round(time.Second))
	}
	return nil
}
