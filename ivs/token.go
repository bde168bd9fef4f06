package ivs

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// HeaderSubjectToken is the IAM response header holding a new token, and
// HeaderAuthToken the request header that carries it to IVS.
const (
	HeaderSubjectToken = "X-Subject-Token"
	HeaderAuthToken    = "X-Auth-Token"
	iamTokenPath       = "/v3/auth/tokens"
	iamBodyLimit       = 4 << 20
)

// tokenSource caches an IAM token and fetches a new one ahead of expiry.
// Concurrent callers share one in-flight fetch.
type tokenSource struct {
	url    string
	auth   PasswordAuth
	hc     *http.Client
	now    func() time.Time
	margin time.Duration
	limit  time.Duration // per-fetch timeout

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	group     singleflight.Group
}

// Token returns a cached token, or fetches one when none is fresh enough.
func (t *tokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	tok, at := t.token, t.refreshAt
	t.mu.Unlock()
	if tok != "" && t.now().Before(at) {
		return tok, nil
	}
	return t.fetchShared(ctx)
}

// Refresh drops the cached token and fetches a new one.
func (t *tokenSource) Refresh(ctx context.Context) error {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
	_, err := t.fetchShared(ctx)
	return err
}

// fetchShared joins or starts the one in-flight fetch. The fetch runs on a
// context detached from any single caller, so one caller giving up does not
// fail the others.
func (t *tokenSource) fetchShared(ctx context.Context) (string, error) {
	ch := t.group.DoChan("token", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.limit)
		defer cancel()
		return t.fetch(fctx)
	})
	select {
	case <-ctx.Done():
		return "", &AuthError{Err: &TransportError{Op: "iam token", Err: ctx.Err(), Timeout: ctx.Err() == context.DeadlineExceeded}}
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

func (t *tokenSource) fetch(ctx context.Context) (string, error) {
	body, err := json.Marshal(t.requestBody())
	if err != nil {
		return "", &AuthError{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+iamTokenPath, bytes.NewReader(body))
	if err != nil {
		return "", &AuthError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	resp, err := t.hc.Do(req)
	if err != nil {
		return "", &AuthError{Err: &TransportError{Op: "iam token", Err: err, Timeout: isTimeout(err)}}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", &AuthError{Err: readErrorBody(resp)}
	}
	tok := resp.Header.Get(HeaderSubjectToken)
	if tok == "" {
		return "", &AuthError{Err: &Error{Status: resp.StatusCode, Code: CodeBadBody, Message: "IAM answer has no X-Subject-Token header"}}
	}
	fetched := t.now()
	expires := parseExpiry(io.LimitReader(resp.Body, iamBodyLimit), fetched)
	t.store(tok, fetched, expires)
	return tok, nil
}

func (t *tokenSource) store(tok string, fetched, expires time.Time) {
	margin := min(t.margin, expires.Sub(fetched)/2)
	t.mu.Lock()
	t.token, t.refreshAt = tok, expires.Add(-margin)
	t.mu.Unlock()
}

// parseExpiry reads token.expires_at from an IAM body, or assumes the
// documented 24 h lifetime.
func parseExpiry(r io.Reader, fetched time.Time) time.Time {
	var b struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
		} `json:"token"`
	}
	if err := json.NewDecoder(r).Decode(&b); err == nil && b.Token.ExpiresAt != "" {
		if at, err := time.Parse(time.RFC3339Nano, b.Token.ExpiresAt); err == nil && at.After(fetched) {
			return at
		}
	}
	return fetched.Add(DefaultTokenLifetime)
}

type iamName struct {
	Name string `json:"name"`
}

type iamUser struct {
	Name     string  `json:"name"`
	Password string  `json:"password"`
	Domain   iamName `json:"domain"`
}

func (t *tokenSource) requestBody() any {
	type password struct {
		User iamUser `json:"user"`
	}
	type identity struct {
		Methods  []string `json:"methods"`
		Password password `json:"password"`
	}
	type scope struct {
		Project iamName `json:"project"`
	}
	type auth struct {
		Identity identity `json:"identity"`
		Scope    scope    `json:"scope"`
	}
	return struct {
		Auth auth `json:"auth"`
	}{auth{
		Identity: identity{Methods: []string{"password"}, Password: password{User: iamUser{
			Name: t.auth.User, Password: t.auth.Password, Domain: iamName{t.auth.Domain},
		}}},
		Scope: scope{Project: iamName{t.auth.Project}},
	}}
}
