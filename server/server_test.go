package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/server/servertest"
)

const password = "a long enough password"

func do(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSessions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.Options{})
	env.Account("alice", password, auth.Operator)
	env.Account("victor", password, auth.Viewer)

	t.Run("login form needs its CSRF token", func(t *testing.T) {
		c := env.Client()
		env.Get(c, "/login", "text/html") // sets the pre-session cookie
		resp, body := do(t, c, "POST", env.URL+"/login", url.Values{"username": {"alice"}, "password": {password}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"csrf"`) {
			t.Fatalf("login without csrf_token: %s %s, want 403 csrf", resp.Status, body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := env.Client()
		tok := servertest.FormCSRF(t, env.Get(c, "/login", "text/html"))
		resp, _ := do(t, c, "POST", env.URL+"/login", url.Values{"username": {"alice"}, "password": {"wrong password!"},
			"csrf_token": {tok}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?failed=1") {
			t.Fatalf("wrong password: %s → %q", resp.Status, resp.Header.Get("Location"))
		}
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-ivsbatch_session" && c.Value != "" {
				t.Fatal("a session cookie after a wrong password")
			}
		}
	})
	t.Run("signed in: cookie flags, API reads, CSRF on changes", func(t *testing.T) {
		c := env.Client()
		tok := servertest.FormCSRF(t, env.Get(c, "/login", "text/html"))
		resp, _ := do(t, c, "POST", env.URL+"/login", url.Values{"username": {"alice"}, "password": {password},
			"csrf_token": {tok}, "next": {"//evil.example/"}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("login: %s → %q, want 303 to / (never another site)", resp.Status, resp.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "__Host-ivsbatch_session" {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
			t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/", session)
		}
		env.Get(c, "/api/v1/batches", "application/json")
		// A change with the session but without the CSRF token is refused
		// before the handler runs.
		resp, body := do(t, c, "POST", env.URL+"/api/v1/requeues", `{"batch_id":1}`, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"csrf"`) {
			t.Fatalf("POST without X-CSRF-Token: %s %s", resp.Status, body)
		}
		// Another site's form is refused even with a token it cannot know.
		resp, _ = do(t, c, "POST", env.URL+"/api/v1/requeues", `{"batch_id":1}`, "Content-Type", "application/json",
			"X-CSRF-Token", "guess", "Origin", "https://evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST: %s", resp.Status)
		}
		resp, _ = do(t, c, "POST", env.URL+"/logout", "", "X-CSRF-Token", "wrong")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("logout with a wrong CSRF token: %s", resp.Status)
		}
	})
	t.Run("a viewer cannot requeue", func(t *testing.T) {
		c := env.SignIn("victor", password)
		resp, body := do(t, c, "POST", env.URL+"/api/v1/requeues", `{"batch_id":1}`, "Content-Type", "application/json",
			"X-CSRF-Token", csrfOf(t, env, c))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"auth.role"`) ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("viewer requeue: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("a disabled account's session ends", func(t *testing.T) {
		env.Account("dora", password, auth.Viewer)
		c := env.SignIn("dora", password)
		env.Get(c, "/api/v1/batches", "application/json")
		yes := true
		if err := server.UpdateAccount(t.Context(), env.Store, "dora", server.AccountChange{Disable: &yes}, "test"); err != nil {
			t.Fatal(err)
		}
		resp, _ := do(t, c, "GET", env.URL+"/api/v1/batches", "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after disabling: %s, want 401", resp.Status)
		}
	})
	t.Run("a browser without a session is sent to /login", func(t *testing.T) {
		resp, _ := do(t, env.Client(), "GET", env.URL+"/metrics", "", "Accept", "text/html")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fmetrics" {
			t.Fatalf("GET /metrics from a browser: %s → %q", resp.Status, resp.Header.Get("Location"))
		}
	})
}

// csrfOf reads the session's CSRF token from the login page (which shows
// the session's token once signed in).
func csrfOf(t *testing.T, env *servertest.Env, c *http.Client) string {
	return servertest.FormCSRF(t, env.Get(c, "/login", "text/html"))
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.Options{Config: server.Config{LoginsPerMinutePerUser: 3, LoginsPerMinutePerAddr: 100}})
	env.Account("bob", password, auth.Viewer)
	c := env.Client()
	tok := servertest.FormCSRF(t, env.Get(c, "/login", "text/html"))
	codes := []int{}
	for range 5 {
		resp, _ := do(t, c, "POST", env.URL+"/login", url.Values{"username": {"bob"}, "password": {"not the password"},
			"csrf_token": {tok}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 303 || codes[2] != 303 || codes[3] != 429 || codes[4] != 429 {
		t.Fatalf("five wrong passwords with 3 a minute allowed: %v, want 303 303 303 429 429", codes)
	}
	// Even the right password waits: the limit is the username's.
	resp, _ := do(t, c, "POST", env.URL+"/login", url.Values{"username": {"bob"}, "password": {password},
		"csrf_token": {tok}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right password while limited: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	env := servertest.Start(t, servertest.Options{Config: server.Config{
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))}})
	viewer := env.Token("dashboards", auth.Viewer)
	c := env.Client()
	get := func(path, tok string) (*http.Response, string) {
		return do(t, c, "GET", env.URL+path, "", "Authorization", "Bearer "+tok)
	}
	if resp, body := get("/api/v1/batches", viewer); resp.StatusCode != 200 || !strings.Contains(body, `"batches":[]`) {
		t.Fatalf("viewer lists batches: %s %s", resp.Status, body)
	}
	if resp, body := get("/metrics", viewer); resp.StatusCode != 200 || !strings.Contains(body, "ivsbatch_http_requests_total") {
		t.Fatalf("metrics: %s", resp.Status)
	}
	if resp, _ := do(t, c, "GET", env.URL+"/metrics", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("metrics without a token: %s", resp.Status)
	}
	if resp, _ := do(t, c, "GET", env.URL+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz: %s", resp.Status)
	}
	if resp, body := get("/api/v1/batches", auth.NewToken()); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(body, "auth.token") {
		t.Fatalf("unknown token: %s %s", resp.Status, body)
	}
	list, err := env.Store.ListAPITokens(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("tokens %v %v", list, err)
	}
	if err := server.RevokeToken(t.Context(), env.Store, list[0].ID, "test"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get("/api/v1/batches", viewer); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %s", resp.Status)
	}
	// Request logs name the route pattern, never the path or query.
	get("/api/v1/batches/4242/export?format=csv&secret-ref=ZHANG", viewer)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `"route":"GET /api/v1/batches"`) || strings.Contains(logs.String(), "ZHANG") ||
		strings.Contains(logs.String(), "4242") || strings.Contains(logs.String(), viewer) {
		t.Fatalf("request log:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
