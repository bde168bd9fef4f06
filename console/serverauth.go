package console

import (
	"net/http"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/server"
)

// ServerAuth is Auth over the server's sessions (server.UserFrom,
// server.CSRFToken): the console's user is the server's authenticated
// caller, named in the audit log as the server names it ("user:alice").
// A caller with an API token has no CSRF token, so it can read pages but
// post no form: forms are for people.
type ServerAuth struct{}

// User is the server's authenticated caller of r.
func (ServerAuth) User(r *http.Request) (User, bool) {
	u, ok := server.UserFrom(r.Context())
	if !ok {
		return User{}, false
	}
	var role Role
	switch {
	case u.Role.Allows(auth.Admin):
		role = RoleAdmin
	case u.Role.Allows(auth.Operator):
		role = RoleOperator
	case u.Role.Allows(auth.Viewer):
		role = RoleViewer
	default:
		return User{}, false
	}
	return User{Name: u.AuditName(), Role: role}, true
}

// CSRFToken is the session's form token.
func (ServerAuth) CSRFToken(r *http.Request) string {
	if u, ok := server.UserFrom(r.Context()); ok {
		return u.CSRF
	}
	return ""
}

// LoginPage is the server's GET /login in the browser's language
// (server.LoginPage).
func (c *Console) LoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := server.LoginData(r)
		q := &req{w: w, r: r, lang: langOf(r)}
		w.Header().Set("Cache-Control", "no-store")
		c.render(q, http.StatusOK, "login", d)
	})
}
