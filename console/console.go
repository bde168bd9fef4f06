// Package console is ivsbatch's operator console: server-rendered pages (Go
// html/template, embedded; no JavaScript) over the same store and ops
// functions as the CLI. Batches with their progress; a batch with the
// report's charts and its failures by reason; a requeue previewed (count and
// cost) then confirmed; the review queue with its decisions; a record looked
// up by ref; the export downloaded; the audit log; a manifest uploaded. In
// English or Chinese (zh-CN), chosen by the browser's Accept-Language or the
// switch in the header. Personal data is shown masked, as in every other
// output; text from outside (refs, names of batches, messages) is escaped by
// html/template and its control and bidirectional characters made visible.
//
// The console does not authenticate: the server that mounts it does, and
// hands it the request's user through Auth. The console checks the role of
// every action and the CSRF token of every form it receives itself.
package console

import (
	"cmp"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/store"
)

// Role is what a user may do in the console.
type Role int

// The roles, each allowed what the ones before it are.
const (
	RoleViewer   Role = iota + 1 // read pages, download exports
	RoleOperator                 // and upload, re-queue, decide review cases, read the audit log
	RoleAdmin                    // and everything the server adds for admins
)

// String is the role's name: viewer, operator, admin.
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// User is the authenticated user of a request.
type User struct {
	Name string // the audit log's operator
	Role Role
}

// Auth is what the console needs of the server's authentication.
type Auth interface {
	// User is r's authenticated user; false when r has no session (the
	// console then sends the browser to LoginURL).
	User(r *http.Request) (User, bool)
	// CSRFToken is the token the forms of r's session carry in the
	// CSRFField; the console refuses a POST without it.
	CSRFToken(r *http.Request) string
}

// CSRFField is the form field holding the CSRF token.
const CSRFField = "csrf_token"

// Config is what New needs.
type Config struct {
	Store *store.Store
	Auth  Auth
	// Objects checks uploaded manifests' media references (the media root,
	// the allowed buckets), as enqueue submit does; nil refuses every
	// file:// reference.
	Objects *objstore.Store
	// Quota is the account's requests/s per endpoint, drawn on the charts.
	Quota float64
	// MaxAttempts is IVSBATCH_MAX_ATTEMPTS, for the requeue's worst cost.
	MaxAttempts int
	// MaxUpload bounds an uploaded manifest's request (default 256 MiB).
	MaxUpload int64
	// LoginURL is where a request without a user is sent (default /login);
	// LogoutURL is the log-out form's action (default /logout).
	LoginURL, LogoutURL string
	Logger              *slog.Logger
}

//go:embed templates/*.html static/*
var files embed.FS

// Console serves the pages. Mount it at the root of the server's mux.
type Console struct {
	cfg        Config
	log        *slog.Logger
	pages      map[Lang]*template.Template
	mux        *http.ServeMux
	chartCache chartCache // finished batches' charts
}

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil || cfg.Auth == nil {
		return nil, errors.New("console: a store and an auth are required")
	}
	cfg.Quota = cmp.Or(cfg.Quota, 10)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 5)
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, 256<<20)
	cfg.LoginURL = cmp.Or(cfg.LoginURL, "/login")
	cfg.LogoutURL = cmp.Or(cfg.LogoutURL, "/logout")
	c := &Console{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), pages: map[Lang]*template.Template{}}
	for _, l := range Langs {
		t, err := template.New("").Funcs(funcs(l)).ParseFS(files, "templates/*.html")
		if err != nil {
			return nil, fmt.Errorf("console: templates: %w", err)
		}
		c.pages[l] = t
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.FileServerFS(files))
	m.HandleFunc("GET /lang", c.setLang)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/batches", http.StatusSeeOther)
	})
	m.Handle("GET /batches", c.page(RoleViewer, c.batches))
	m.Handle("GET /batches/{id}", c.page(RoleViewer, c.batch))
	m.Handle("GET /batches/{id}/charts", c.page(RoleViewer, c.charts))
	m.Handle("GET /batches/{id}/records", c.page(RoleViewer, c.records))
	m.Handle("GET /batches/{id}/export", c.page(RoleViewer, c.export))
	m.Handle("POST /batches/{id}/requeue/preview", c.page(RoleOperator, c.requeuePreview))
	m.Handle("POST /batches/{id}/requeue", c.page(RoleOperator, c.requeue))
	m.Handle("GET /review", c.page(RoleViewer, c.review))
	m.Handle("POST /review/{record}", c.page(RoleOperator, c.decide))
	m.Handle("GET /find", c.page(RoleViewer, c.find))
	m.Handle("GET /upload", c.page(RoleOperator, c.uploadForm))
	m.Handle("POST /upload", c.page(RoleOperator, c.upload))
	m.Handle("GET /audit", c.page(RoleOperator, c.audit))
	c.mux = m
}

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// req is one request as a page handler sees it.
type req struct {
	w    http.ResponseWriter
	r    *http.Request
	user User
	lang Lang
	csrf string
	// parts are a multipart form's parts after its CSRF token.
	parts *multipart.Reader
}

// page wraps a page handler: the user must be logged in with at least role
// min; a POST must carry the session's CSRF token.
func (c *Console) page(min Role, fn func(*req) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &req{w: w, r: r, lang: langOf(r)}
		u, ok := c.cfg.Auth.User(r)
		if !ok {
			http.Redirect(w, r, c.cfg.LoginURL+"?next="+urlPath(r), http.StatusSeeOther)
			return
		}
		q.user, q.csrf = u, c.cfg.Auth.CSRFToken(r)
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost && !c.csrfOK(q) {
			c.fail(q, http.StatusForbidden, "error.csrf", nil)
			return
		}
		if u.Role < min {
			c.fail(q, http.StatusForbidden, "error.forbidden", nil)
			return
		}
		if err := fn(q); err != nil {
			var he httpError
			if errors.As(err, &he) {
				c.fail(q, he.status, he.key, he.detail)
				return
			}
			c.log.Error("console page", "path", r.URL.Path, "user", u.Name, "err", err)
			c.fail(q, http.StatusInternalServerError, "error.internal", nil)
		}
	})
}

// csrfOK checks the form's CSRF token against the session's. A multipart
// form (the upload) must send it as its first part, so that it is checked
// before the manifest is read; q.parts then holds the parts that follow.
func (c *Console) csrfOK(q *req) bool {
	want := q.csrf
	var got string
	if strings.HasPrefix(q.r.Header.Get("Content-Type"), "multipart/form-data") {
		q.r.Body = http.MaxBytesReader(q.w, q.r.Body, c.cfg.MaxUpload)
		mr, err := q.r.MultipartReader()
		if err != nil {
			return false
		}
		p, err := mr.NextPart()
		if err != nil || p.FormName() != CSRFField {
			return false
		}
		b, err := io.ReadAll(io.LimitReader(p, 256))
		if err != nil {
			return false
		}
		got, q.parts = string(b), mr
	} else {
		q.r.Body = http.MaxBytesReader(q.w, q.r.Body, 1<<20)
		got = q.r.PostFormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// urlPath is r's path and query as a query parameter value (the page to
// come back to after logging in).
func urlPath(r *http.Request) string {
	return template.URLQueryEscaper(r.URL.RequestURI())
}

// httpError is an error shown to the user as a page with a status.
type httpError struct {
	status int
	key    string
	detail error
}

func (e httpError) Error() string { return e.key }

func notFound() error { return httpError{status: http.StatusNotFound, key: "error.notfound"} }

func badRequest(detail error) error {
	return httpError{status: http.StatusBadRequest, key: "error.bad", detail: detail}
}

// fail renders the error page.
func (c *Console) fail(q *req, status int, key string, detail error) {
	d := map[string]any{"Message": text(q.lang, key)}
	if detail != nil {
		d["Detail"] = shown(detail.Error())
	}
	c.render(q, status, "error", d)
}

// setLang stores the operator's language and goes back to the page.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	to := Lang(r.URL.Query().Get("to"))
	found := false
	for _, l := range Langs {
		found = found || l == to
	}
	if !found {
		http.Error(w, "unknown language", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: string(to), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	back := r.URL.Query().Get("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = "/batches"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
