package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ivsbatch/ivsbatch/auth"
)

// User is who made a request: a system by its API token, or a person by
// their session.
type User struct {
	Kind string // "token" or "account"
	ID   int64  // the token's or the account's id
	Name string // the token's name or the account's username
	Role auth.Role
	// CSRF is the session's form token ("" for API tokens, which need none).
	CSRF string
}

// Principal identifies the caller in stored state (idempotency keys,
// requeue previews) and request logs: "token:7", "account:3".
func (u User) Principal() string { return fmt.Sprintf("%s:%d", u.Kind, u.ID) }

// AuditName is the operator written in the audit log: "token:nightly"
// or "user:alice".
func (u User) AuditName() string {
	if u.Kind == "token" {
		return "token:" + u.Name
	}
	return "user:" + u.Name
}

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the authenticated caller of a request's context.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// RequireRole lets through requests whose caller has role need (or a
// higher one). Others get 401 (nobody signed in: a browser is sent to
// /login) or 403.
func RequireRole(need auth.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		switch {
		case !ok && wantsHTML(r):
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ivsbatch"`)
			Error(w, http.StatusUnauthorized, "auth.required", "an API token (Authorization: Bearer …) or a session is required")
		case !u.Role.Allows(need):
			Error(w, http.StatusForbidden, "auth.role", fmt.Sprintf("this needs the %s role; the caller is %s", need, u.Role))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// wantsHTML reports whether the request comes from a browser navigating
// (not the API): a GET asking for HTML outside /api/.
func wantsHTML(r *http.Request) bool {
	return r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}
