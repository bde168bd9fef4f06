package ivssim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
)

// tokenPrefix starts every token the simulator issues; a token without it
// "cannot be decrypted" (APIG.0301).
const tokenPrefix = "MIIsim"

// tokenStore remembers issued tokens and their expiry.
type tokenStore struct {
	mu      sync.Mutex
	expires map[string]time.Time
	issued  int
}

func newTokenStore() *tokenStore { return &tokenStore{expires: make(map[string]time.Time)} }

func (ts *tokenStore) issue(now time.Time, ttl time.Duration) (string, time.Time) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := tokenPrefix + hex.EncodeToString(b[:])
	exp := now.Add(ttl)
	ts.mu.Lock()
	ts.expires[tok] = exp
	ts.issued++
	ts.mu.Unlock()
	return tok, exp
}

// check answers nil for a live token, else the gateway's error.
func (ts *tokenStore) check(tok string, now time.Time) *apiError {
	if !wellFormedToken(tok) {
		return fail(CodeAuthFailed, "decrypt token fail")
	}
	ts.mu.Lock()
	exp, ok := ts.expires[tok]
	ts.mu.Unlock()
	switch {
	case !ok:
		return fail(CodeTokenAbnormal, "") // decrypts, but this IAM never issued it
	case !now.Before(exp):
		return fail(CodeTokenExpired, "")
	}
	return nil
}

func (ts *tokenStore) expire(tok string, now time.Time) {
	ts.mu.Lock()
	if _, ok := ts.expires[tok]; ok {
		ts.expires[tok] = now
	}
	ts.mu.Unlock()
}

func (ts *tokenStore) expireAll(now time.Time) {
	ts.mu.Lock()
	for t, exp := range ts.expires {
		if exp.After(now) {
			ts.expires[t] = now
		}
	}
	ts.mu.Unlock()
}

func (ts *tokenStore) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued
}

func wellFormedToken(tok string) bool {
	hexPart, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

type iamRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project struct {
				Name string `json:"name"`
				ID   string `json:"id"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

// serveIAM is POST /v3/auth/tokens with a password identity: 201 with the
// token in X-Subject-Token and {"token":{"expires_at",...}} in the body.
func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		iamError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "The method is not allowed for the requested URL.")
		return
	}
	var req iamRequest
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil {
		iamError(w, http.StatusBadRequest, "Bad Request", "The request body is not valid JSON.")
		return
	}
	u := req.Auth.Identity.Password.User
	if !s.knownUser(u.Domain.Name, u.Name, u.Password) || !hasPassword(req.Auth.Identity.Methods) {
		s.log.Info("ivssim: iam refused", slog.String("reason", "bad credentials"))
		iamError(w, http.StatusUnauthorized, "Unauthorized", "The username or password is wrong.")
		return
	}
	now := s.cfg.Now()
	tok, exp := s.tokens.issue(now, s.cfg.TokenTTL)
	w.Header().Set(ivs.HeaderSubjectToken, tok)
	writeJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"issued_at":  now.UTC().Format(iamTime),
		"expires_at": exp.UTC().Format(iamTime),
		"project":    map[string]string{"name": req.Auth.Scope.Project.Name, "id": s.cfg.ProjectID},
		"user":       map[string]any{"name": u.Name, "domain": map[string]string{"name": u.Domain.Name}},
	}})
}

const iamTime = "2006-01-02T15:04:05.000000Z"

func (s *Server) knownUser(domain, user, password string) bool {
	for _, u := range s.cfg.IAMUsers {
		if u.Domain == domain && u.User == user && u.Password == password {
			return true
		}
	}
	return false
}

func hasPassword(methods []string) bool {
	for _, m := range methods {
		if m == "password" {
			return true
		}
	}
	return false
}

func iamError(w http.ResponseWriter, status int, title, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": msg}})
}
