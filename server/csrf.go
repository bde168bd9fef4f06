package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/ivsbatch/ivsbatch/auth"
)

// CSRFField is the form field (and CSRFHeader the header) that carries the
// CSRF token of a POST made with a session or to /login.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// csrfCookie holds the token of a browser with no session yet (the login
// form): double-submit, checked against the form field.
const csrfCookie = "__Host-ivsbatch_csrf"

// CSRFToken returns the token to put in a form of this request's page
// (the CSRFField hidden input): the session's, or before sign-in the
// browser's pre-session token (set by the server's middleware).
func CSRFToken(r *http.Request) string {
	if u, ok := UserFrom(r.Context()); ok && u.CSRF != "" {
		return u.CSRF
	}
	if t, ok := r.Context().Value(anonCSRFKey{}).(string); ok {
		return t
	}
	return ""
}

type anonCSRFKey struct{}

// unsafeMethod reports whether a request may change something.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// csrfOK checks a state-changing request that rides on a cookie (a
// session, or the anonymous login form): its token, from the form field,
// the X-CSRF-Token header, or for a multipart upload (whose body is
// streamed, not parsed ahead) the csrf_token query parameter, must equal
// the expected one. Requests with an API token carry no ambient
// credential and need none.
func csrfOK(r *http.Request, want string) bool {
	if want == "" {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "multipart/form-data"):
			got = r.URL.Query().Get(CSRFField)
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
			got = r.PostFormValue(CSRFField)
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// anonCSRF returns the browser's pre-session token, setting a new one
// when it has none.
func anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	t := auth.NewSecret()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: t, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	return t
}
