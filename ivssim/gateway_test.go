package ivssim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
)

const std = "/v2.0/ivs-standard"

// token fetches an IAM token from base.
func token(t testing.TB, base, password string) (string, int) {
	t.Helper()
	b := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"` + ivssimtest.User +
		`","password":"` + password + `","domain":{"name":"` + ivssimtest.Domain + `"}}}},"scope":{"project":{"name":"cn-north-4"}}}}`
	resp, err := http.Post(base+"/v3/auth/tokens", "application/json", strings.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tb struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"token"`
	}
	if resp.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(resp.Body).Decode(&tb); err != nil || tb.Token.ExpiresAt.IsZero() {
			t.Fatalf("token body: %v %+v", err, tb)
		}
	}
	return resp.Header.Get(ivs.HeaderSubjectToken), resp.StatusCode
}

func withToken(tok string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Del(ivs.HeaderAuthorization)
		r.Header.Set(ivs.HeaderAuthToken, tok)
	}
}

func TestGatewayErrors(t *testing.T) {
	t.Parallel()
	srv, base := start(t, func(c *ivssim.Config) { c.ProjectID = "proj1" })
	good := body("u1", nameFace(t, pMain, pMain))
	tok, st := token(t, base, ivssimtest.Password)
	if st != http.StatusCreated || tok == "" {
		t.Fatalf("token: %d %q", st, tok)
	}
	if _, st := token(t, base, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("bad password: %d, want 401", st)
	}
	expired, _ := token(t, base, ivssimtest.Password)
	srv.ExpireTokens()
	tok, _ = token(t, base, ivssimtest.Password) // issued after the expiry: fresh
	resign := func(ak, sk, pid string, at time.Time) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Del(ivs.HeaderAuthorization)
			_ = (ivs.Signer{AK: ak, SK: sk, ProjectID: pid}).Sign(r, good, at)
		}
	}
	cases := []struct {
		name   string
		mutate func(*http.Request)
		b      []byte
		status int
		code   string
	}{
		{"token ok", withToken(tok), good, 200, ""},
		{"aksk ok", nil, good, 200, ""},
		{"aksk with project", resign(ivssimtest.AK, ivssimtest.SK, "proj1", time.Now()), good, 200, ""},
		{"no auth", func(r *http.Request) { r.Header.Del(ivs.HeaderAuthorization) }, good, 401, "APIG.0301"},
		{"bad signature", func(r *http.Request) {
			r.Header.Set(ivs.HeaderAuthorization, strings.Replace(r.Header.Get(ivs.HeaderAuthorization), "Signature=", "Signature=00", 1))
		}, good, 401, "APIG.0301"},
		{"body changed", func(r *http.Request) {
			b := append(bytes.Clone(good[:len(good)-1]), ' ', '}')
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, good, 401, "APIG.0301"},
		{"malformed authorization", func(r *http.Request) { r.Header.Set(ivs.HeaderAuthorization, "Basic abc") }, good, 401, "APIG.0301"},
		{"unknown ak", resign("OTHERAK", ivssimtest.SK, "", time.Now()), good, 401, "APIG.0301"},
		{"stale date", resign(ivssimtest.AK, ivssimtest.SK, "", time.Now().Add(-16*time.Minute)), good, 401, "APIG.0301"},
		{"future date", resign(ivssimtest.AK, ivssimtest.SK, "", time.Now().Add(16*time.Minute)), good, 401, "APIG.0301"},
		{"wrong project", resign(ivssimtest.AK, ivssimtest.SK, "proj2", time.Now()), good, 401, "APIG.0301"},
		{"malformed token", withToken("not-a-token"), good, 401, "APIG.0301"},
		{"unknown token", withToken("MIIsim" + strings.Repeat("ab", 32)), good, 400, "IVS.0013"},
		{"expired token", withToken(expired), good, 401, "APIG.0307"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, base, std, tc.b, tc.mutate)
			if a.status != tc.status || a.code != tc.code {
				t.Fatalf("got %d %s %.200s, want %d %s", a.status, a.code, a.raw, tc.status, tc.code)
			}
		})
	}
}

func TestMethodsPathsBodies(t *testing.T) {
	t.Parallel()
	_, base := start(t, nil)
	for _, tc := range []struct{ method, path string }{
		{"GET", std}, {"PUT", "/v2.0/ivs-idcard-extention"}, {"POST", "/v2.0/ivs-standard/x"}, {"POST", "/v2.0/ivs-idcard-extension"}, {"GET", "/"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb ivs.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 404 || eb.ErrorCode != "APIG.0101" {
			t.Errorf("%s %s: %d %s, want 404 APIG.0101", tc.method, tc.path, resp.StatusCode, eb.ErrorCode)
		}
	}
	big := bytes.Repeat([]byte("x"), ivssim.MaxBodyBytes+1)
	if a := call(t, base, std, big, nil); a.status != 413 || a.code != "APIG.0201" {
		t.Errorf("huge body: %d %s, want 413 APIG.0201", a.status, a.code)
	}
	req, _ := http.NewRequest("GET", base+"/v3/auth/tokens", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET tokens: %v %v", resp, err)
	}
	resp, err := http.Post(base+"/v3/auth/tokens", "application/json", strings.NewReader("{garbage"))
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("garbage tokens: %v %v", resp, err)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	now := time.Now()
	_, base := start(t, func(c *ivssim.Config) { c.Quota = 2; c.Now = func() time.Time { return now } })
	b := body("q", nameFace(t, pMain, pMain))
	var codes []string
	for range 4 {
		a := call(t, base, std, b, nil)
		codes = append(codes, a.code)
	}
	if codes[0] != "" || codes[1] != "" || codes[2] != "APIG.0308" || codes[3] != "APIG.0308" {
		t.Fatalf("codes %q, want two accepted then APIG.0308", codes)
	}
	// the other endpoint has its own quota
	if a := call(t, base, "/v2.0/ivs-idcard-extention", body("q", map[string]any{"verification_name": person(pMain).Name, "verification_id": person(pMain).IDNumber}), nil); a.status != 200 {
		t.Errorf("extention: %d %s", a.status, a.code)
	}
	l := getLedger(t, base)
	if l.MaxPerSecond[std] != 2 || l.ByCode["APIG.0308"] != 2 || l.ByStatus["429"] != 2 || l.Duplicates["q"] != 3 {
		t.Errorf("ledger %+v", l)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, base := start(t, nil)
	b := body("f", nameFace(t, pMain, pMain))
	for _, tc := range []struct {
		f      ivssim.Faults
		status int
		code   string
	}{
		{ivssim.Faults{Rate500: 1}, 500, "IVS.0101"},
		{ivssim.Faults{Rate504: 1}, 504, "APIG.0201"},
		{ivssim.Faults{RateTokenExpire: 1}, 200, ""}, // AK/SK callers have no token to expire
	} {
		srv.SetFaults(tc.f)
		if a := call(t, base, std, b, nil); a.status != tc.status || a.code != tc.code {
			t.Errorf("%+v: %d %s, want %d %s", tc.f, a.status, a.code, tc.status, tc.code)
		}
	}
	tok, _ := token(t, base, ivssimtest.Password)
	if a := call(t, base, std, b, withToken(tok)); a.status != 401 || a.code != "APIG.0307" {
		t.Errorf("token expire fault: %d %s", a.status, a.code)
	}
	for _, st := range []string{"IVS.0014", "IVS.0015"} {
		if c := adminPost(t, base, "/_sim/account", `{"state":"`+st+`"}`); c != 200 {
			t.Fatalf("admin account: %d", c)
		}
		srv.SetFaults(ivssim.Faults{})
		if a := call(t, base, std, b, nil); a.status != 400 || a.code != st {
			t.Errorf("account %s: %d %s", st, a.status, a.code)
		}
	}
	srv.SetAccountState("")
	if c := adminPost(t, base, "/_sim/account", `{"state":"bogus"}`); c != 400 {
		t.Errorf("bogus state: %d", c)
	}
	if c := adminPost(t, base, "/_sim/faults", `{"rate_drop":1}`); c != 200 {
		t.Fatalf("admin faults: %d", c)
	}
	r, _ := http.NewRequest(http.MethodPost, base+std, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	_ = (ivs.Signer{AK: ivssimtest.AK, SK: ivssimtest.SK}).Sign(r, b, time.Now())
	if resp, err := http.DefaultClient.Do(r); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}
	l := getLedger(t, base)
	if l.ByStatus["dropped"] != 1 || l.TotalBilled != 1 || l.ByCode["IVS.0014"] != 1 {
		t.Errorf("ledger %+v", l)
	}
}

func TestSlowIsBilledAfterClientLeft(t *testing.T) {
	t.Parallel()
	_, base := start(t, func(c *ivssim.Config) { c.Faults = ivssim.Faults{RateSlow: 1, SlowDelay: time.Second} })
	b := body("slow", nameFace(t, pMain, pMain))
	r, _ := http.NewRequest(http.MethodPost, base+std, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	_ = (ivs.Signer{AK: ivssimtest.AK, SK: ivssimtest.SK}).Sign(r, b, time.Now())
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := hc.Do(r)
	var ne interface{ Timeout() bool }
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a client timeout, got %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for getLedger(t, base).BilledByUUID["slow"] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned slow call was never billed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLedgerAndAdmin(t *testing.T) {
	t.Parallel()
	_, base := start(t, nil)
	b := body("dup", nameFace(t, pMain, pMain))
	a := call(t, base, std, b, nil)
	call(t, base, std, b, nil)
	call(t, base, std, body("once", nameFace(t, pMain, pOther)), nil)
	call(t, base, std, body("bad", map[string]any{}), nil)
	if !strings.Contains(a.raw, `"similarity":"`) {
		t.Errorf("similarity is not a JSON string: %s", a.raw)
	}
	l := getLedger(t, base)
	want := ivssim.Ledger{TotalBilled: 3, Duplicates: map[string]int{"dup": 2}, BilledByUUID: map[string]int{"dup": 2, "once": 1},
		ByStatus: map[string]int{"200": 3, "400": 1}, ByCode: map[string]int{"1000": 2, "2002": 1, "IVS.0003": 1}, Requests: 4}
	if l.TotalBilled != want.TotalBilled || jsonString(l.Duplicates) != jsonString(want.Duplicates) ||
		jsonString(l.BilledByUUID) != jsonString(want.BilledByUUID) || jsonString(l.ByStatus) != jsonString(want.ByStatus) ||
		jsonString(l.ByCode) != jsonString(want.ByCode) || l.Requests != 4 || l.MaxPerSecond[std] < 1 {
		t.Errorf("ledger %+v", l)
	}
	if c := adminPost(t, base, "/_sim/ledger/reset", ""); c != 200 {
		t.Fatalf("reset: %d", c)
	}
	if l := getLedger(t, base); l.TotalBilled != 0 || l.Requests != 0 || len(l.ByStatus) != 0 {
		t.Errorf("after reset %+v", l)
	}
	tok, _ := token(t, base, ivssimtest.Password)
	if c := adminPost(t, base, "/_sim/tokens/expire", ""); c != 200 {
		t.Fatalf("expire: %d", c)
	}
	if a := call(t, base, std, b, withToken(tok)); a.code != "APIG.0307" {
		t.Errorf("after admin expire: %d %s", a.status, a.code)
	}
	if c := adminPost(t, base, "/_sim/faults", `{"rate_500":2}`); c != 400 {
		t.Errorf("bad faults: %d", c)
	}
	if c := adminPost(t, base, "/_sim/nothing", ""); c != 404 {
		t.Errorf("unknown admin route: %d", c)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ivssim.Config{
		{},
		{Credentials: []ivssim.Credential{{AK: "a"}}},
		{IAMUsers: []ivssim.IAMUser{{Domain: "d", User: "u"}}},
		{Credentials: []ivssim.Credential{{AK: "a", SK: "s"}}, Faults: ivssim.Faults{Rate500: 1.5}},
		{Credentials: []ivssim.Credential{{AK: "a", SK: "s"}}, Latency: ivssim.Latency{Fixed: -1}},
	} {
		if _, err := ivssim.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
