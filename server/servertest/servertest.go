// Package servertest starts the whole server for tests: a private Postgres
// database and redis-server (internal/testenv), the JSON API, whatever the
// test mounts (the console), over HTTPS on a free port, with helpers for
// API tokens, accounts and signed-in browsers.
package servertest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/server/api"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Options change what Start builds.
type Options struct {
	Config  server.Config          // LoginsPerMinute…, SessionTTL (Addr is ignored)
	Objects *objstore.Store        // for s3:// manifests (nil: none)
	Mount   func(s *server.Server) // mounts more (the console) before the server starts
	Store   *store.Store           // nil: a new one
}

// Env is a running server.
type Env struct {
	URL    string // https://127.0.0.1:port
	Store  *store.Store
	Server *server.Server
	Redis  redis.UniversalClient
	ts     *httptest.Server
	t      testing.TB
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	st := o.Store
	if st == nil {
		st = storetest.Open(t)
	}
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	cfg := o.Config
	cfg.Addr = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg, st, rdb)
	if err != nil {
		t.Fatal(err)
	}
	api.New(api.Deps{Store: st, Redis: rdb, Objects: o.Objects, Quota: 10, Logger: cfg.Logger}).Register(srv)
	if o.Mount != nil {
		o.Mount(srv)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &Env{URL: ts.URL, Store: st, Server: srv, Redis: rdb, ts: ts, t: t}
}

// Token makes an API token with role, named name.
func (e *Env) Token(name string, role auth.Role) string {
	e.t.Helper()
	tok, _, err := server.CreateToken(e.t.Context(), e.Store, name, role, "servertest")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Client is an HTTPS client that trusts the server and keeps cookies,
// not following redirects (tests look at them).
func (e *Env) Client() *http.Client {
	c := e.ts.Client()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Account adds an operator account with role and password.
func (e *Env) Account(username, password string, role auth.Role) store.OperatorAccount {
	e.t.Helper()
	acc, err := server.AddAccount(e.t.Context(), e.Store, username, password, role, "servertest")
	if err != nil {
		e.t.Fatal(err)
	}
	return acc
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// FormCSRF returns the csrf_token of the first form in an HTML page.
func FormCSRF(t testing.TB, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token field in the page:\n%s", page)
	}
	return m[1]
}

// SignIn signs a new browser-like client in as username through the
// login form, and returns it.
func (e *Env) SignIn(username, password string) *http.Client {
	e.t.Helper()
	c := e.Client()
	page := e.Get(c, "/login", "text/html")
	resp, err := c.PostForm(e.URL+"/login", url.Values{"username": {username}, "password": {password},
		"csrf_token": {FormCSRF(e.t, page)}, "next": {"/"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		e.t.Fatalf("sign in as %s: %s to %q, want 303 to /", username, resp.Status, resp.Header.Get("Location"))
	}
	return c
}

// Get fetches path with c, expecting 200, and returns the body.
func (e *Env) Get(c *http.Client, path, accept string) string {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), "GET", e.URL+path, nil)
	req.Header.Set("Accept", accept)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %s %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b)
}
