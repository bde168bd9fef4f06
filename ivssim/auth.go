package ivssim

import (
	"crypto/hmac"
	"net/http"
	"slices"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// caller is who an authenticated request came from.
type caller struct {
	token string // set with token auth
	ak    string // set with AK/SK auth
}

// authenticate checks the token or the AK/SK signature over body, as the
// gateway does. A token takes precedence over a signature.
func (s *Server) authenticate(r *http.Request, body []byte) (caller, *apiError) {
	now := s.cfg.Now()
	if tok := r.Header.Get(ivs.HeaderAuthToken); tok != "" {
		if e := s.tokens.check(tok, now); e != nil {
			return caller{}, e
		}
		return caller{token: tok}, nil
	}
	authz := r.Header.Get(ivs.HeaderAuthorization)
	if authz == "" {
		return caller{}, fail(CodeAuthFailed, "no token or signature")
	}
	ak, signed, sig, err := ivs.ParseAuthorization(authz)
	if err != nil {
		return caller{}, fail(CodeAuthFailed, "malformed Authorization header")
	}
	sk, ok := s.creds[ak]
	if !ok {
		return caller{}, fail(CodeAuthFailed, "access key not found")
	}
	if e := checkSdkDate(r.Header.Get(ivs.HeaderSdkDate), signed, now); e != nil {
		return caller{}, e
	}
	sts := ivs.StringToSign(ivs.SignAlgorithm, r.Header.Get(ivs.HeaderSdkDate), ivs.CanonicalRequest(r, body, signed))
	if !hmac.Equal([]byte(ivs.SignatureHex(sk, sts)), []byte(sig)) {
		return caller{}, fail(CodeAuthFailed, "verify aksk signature fail")
	}
	if pid := r.Header.Get(ivs.HeaderProjectID); s.cfg.ProjectID != "" && pid != "" && pid != s.cfg.ProjectID {
		return caller{}, fail(CodeAuthFailed, "project id does not match the access key")
	}
	return caller{ak: ak}, nil
}

// checkSdkDate wants a signed X-Sdk-Date within MaxClockSkew of now.
func checkSdkDate(v string, signed []string, now time.Time) *apiError {
	if v == "" || !slices.Contains(signed, "x-sdk-date") {
		return fail(CodeAuthFailed, "X-Sdk-Date is missing or not signed")
	}
	t, err := time.Parse(ivs.SdkDateFormat, v)
	if err != nil {
		return fail(CodeAuthFailed, "X-Sdk-Date is malformed")
	}
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return fail(CodeAuthFailed, "signature expired: X-Sdk-Date is more than 15 minutes off")
	}
	return nil
}
