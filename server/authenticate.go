package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// sessionCookie holds a signed-in person's session id (__Host-: Secure,
// Path=/, no Domain, so no subdomain can set or read it).
const sessionCookie = "__Host-ivsbatch_session"

type callerSlotKey struct{}

// requestInfo is what the request log learns from inner handlers: who the
// caller was and which route pattern matched.
type requestInfo struct {
	caller User
	route  string
}

func withRequestInfo(ctx context.Context, i *requestInfo) context.Context {
	return context.WithValue(ctx, callerSlotKey{}, i)
}

func infoOf(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(callerSlotKey{}).(*requestInfo)
	return i
}

// notePattern tells the request log the route that matched.
func notePattern(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := infoOf(r); i != nil {
			i.route = r.Pattern
		}
		h.ServeHTTP(w, r)
	})
}

// authenticate finds the caller: an API token (Authorization: Bearer) or a
// session cookie. A bad token is refused (401) rather than treated as
// anonymous, so that a misconfigured system learns it at once; a stale
// session cookie is anonymous (the browser signs in again). A request that
// changes something with a cookie (a session, or the login form's
// pre-session token) must carry its CSRF token, and come from the same
// origin when the browser says where it comes from.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var u User
		var ok bool
		if h := r.Header.Get("Authorization"); h != "" {
			if u, ok = s.tokenUser(ctx, h); !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ivsbatch", error="invalid_token"`)
				Error(w, http.StatusUnauthorized, "auth.token", "the API token is unknown or revoked")
				return
			}
		} else if c, err := r.Cookie(sessionCookie); err == nil {
			u, ok = s.sessionUser(ctx, c.Value)
		}
		if ok {
			if i := infoOf(r); i != nil {
				i.caller = u
			}
			ctx = WithUser(ctx, u)
		}
		cookieBorne := !ok || u.Kind == "account"
		if cookieBorne {
			want := u.CSRF
			if !ok {
				want = anonCSRF(w, r)
				ctx = context.WithValue(ctx, anonCSRFKey{}, want)
			}
			if unsafeMethod(r.Method) && (ok || r.URL.Path == "/login") {
				if !sameOrigin(r) || !csrfOK(r, want) {
					Error(w, http.StatusForbidden, "csrf", "the form's CSRF token is missing or wrong: reload the page")
					return
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sameOrigin refuses requests a browser says come from another site
// (Sec-Fetch-Site, or an Origin naming another host). Requests without
// either header (not from a browser) pass: the CSRF token still applies.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	_, host, _ := strings.Cut(o, "://")
	return host == r.Host
}

func (s *Server) tokenUser(ctx context.Context, header string) (User, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || !auth.LooksLikeToken(tok) {
		return User{}, false
	}
	t, err := s.st.APITokenByHash(ctx, auth.HashSecret(tok))
	if err != nil {
		if !errors.Is(err, pipeline.ErrNotFound) && ctx.Err() == nil {
			s.log.Error("token lookup", "err", err)
		}
		return User{}, false
	}
	return User{Kind: "token", ID: t.ID, Name: t.Name, Role: auth.Role(t.Role)}, true
}

func (s *Server) sessionUser(ctx context.Context, id string) (User, bool) {
	if len(id) != 43 {
		return User{}, false
	}
	ses, err := s.st.SessionByHash(ctx, auth.HashSecret(id))
	if err != nil {
		if !errors.Is(err, pipeline.ErrNotFound) && ctx.Err() == nil {
			s.log.Error("session lookup", "err", err)
		}
		return User{}, false
	}
	return User{Kind: "account", ID: ses.Account.ID, Name: ses.Account.Username, Role: auth.Role(ses.Account.Role),
		CSRF: ses.CSRF}, true
}
