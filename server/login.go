package server

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// LoginPageData is what a login page shows: the CSRF token for its form,
// where to go after signing in, and whether the last attempt failed.
type LoginPageData struct {
	CSRF   string
	Next   string
	Failed bool
}

// LoginData reads a GET /login request for a login page (the console's).
func LoginData(r *http.Request) LoginPageData {
	return LoginPageData{CSRF: CSRFToken(r), Next: safeNext(r.URL.Query().Get("next")), Failed: r.URL.Query().Has("failed")}
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ivsbatch: sign in</title></head>
<body><form method="post" action="/login">
{{if .Failed}}<p role="alert">Wrong username or password, or too many attempts.</p>{{end}}
<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="next" value="{{.Next}}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>
`))

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.LoginPage != nil {
		s.LoginPage.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = loginTmpl.Execute(w, LoginData(r))
}

// login checks a username and password (form fields username, password,
// csrf_token, next), rate-limited per client address and per username,
// and on success starts a session and goes to next (a local path only).
// A failure sends the browser back to /login?failed; too many attempts
// answer 429 with Retry-After.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	if wait := s.logins.allow(s.clientAddr(r).String(), username, s.cfg.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+1)))
		Error(w, http.StatusTooManyRequests, "auth.rate", "too many sign-in attempts: wait a minute")
		return
	}
	acc, err := s.st.OperatorAccountByName(r.Context(), username)
	switch {
	case errors.Is(err, pipeline.ErrNotFound):
		auth.VerifyNobody(password)
	case err != nil:
		s.log.Error("login: account lookup", "err", err)
		Error(w, http.StatusInternalServerError, "internal", "the server failed; see its log")
		return
	}
	if err != nil || acc.DisabledAt != nil || auth.VerifyPassword(acc.PasswordHash, password) != nil {
		who := "user:?" // what was typed for an unknown account is not kept: it may be anything
		if err == nil {
			who = "user:" + acc.Username
		}
		s.audit(r, store.AuditEntry{Operator: who, Command: "login", Result: map[string]any{"ok": false}})
		http.Redirect(w, r, "/login?failed=1&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	id := auth.NewSecret()
	if err := s.st.CreateSession(r.Context(), auth.HashSecret(id), acc.ID, auth.NewSecret(),
		s.cfg.Now().Add(s.cfg.SessionTTL)); err != nil {
		s.log.Error("login: create session", "err", err)
		Error(w, http.StatusInternalServerError, "internal", "the server failed; see its log")
		return
	}
	s.audit(r, store.AuditEntry{Operator: "user:" + acc.Username, Command: "login", Result: map[string]any{"ok": true}})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session (a POST with its CSRF token) and goes to /login.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.st.DeleteSession(r.Context(), auth.HashSecret(c.Value)); err != nil {
			s.log.Error("logout", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// audit writes an audit row, logging (not failing) when it cannot.
func (s *Server) audit(r *http.Request, e store.AuditEntry) {
	if err := s.st.Audit(r.Context(), e); err != nil {
		s.log.Warn("audit row not written", "command", e.Command, "err", err)
	}
}

// safeNext keeps a local path to go to after signing in ("/" otherwise):
// never another site (//evil, /\evil, https://…).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// loginLimiter bounds sign-in attempts per client address and per
// username (token buckets refilled per minute), in this process: a
// password guesser meets it whichever account or address it varies.
type loginLimiter struct {
	mu           sync.Mutex
	perAddr      int
	perUser      int
	addrs, users map[string]*rate.Limiter
	lastSweep    time.Time
}

func newLoginLimiter(perAddr, perUser int) *loginLimiter {
	return &loginLimiter{perAddr: perAddr, perUser: perUser, addrs: map[string]*rate.Limiter{}, users: map[string]*rate.Limiter{}}
}

// allow takes one attempt for addr and user, or says how long to wait.
func (l *loginLimiter) allow(addr, user string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > 10*time.Minute { // full buckets hold nothing worth keeping
		for _, m := range []map[string]*rate.Limiter{l.addrs, l.users} {
			for k, lim := range m {
				if lim.TokensAt(now) >= float64(lim.Burst()) {
					delete(m, k)
				}
			}
		}
		l.lastSweep = now
	}
	get := func(m map[string]*rate.Limiter, k string, n int) *rate.Limiter {
		lim := m[k]
		if lim == nil {
			lim = rate.NewLimiter(rate.Limit(float64(n)/60), n)
			m[k] = lim
		}
		return lim
	}
	a, u := get(l.addrs, addr, l.perAddr), get(l.users, strings.ToLower(user), l.perUser)
	ra, ru := a.ReserveN(now, 1), u.ReserveN(now, 1)
	wait := max(ra.DelayFrom(now), ru.DelayFrom(now))
	if wait > 0 {
		ra.CancelAt(now)
		ru.CancelAt(now)
	}
	return wait
}
