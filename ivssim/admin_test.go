package ivssim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
)

// What a web page can send to the simulator on a developer's machine — a
// form POST, a text/plain "simple" fetch, a JSON POST without the admin
// header (a preflight the simulator never grants) — changes nothing; a
// request from another machine or to a rebound host name neither.
func TestAdminRefusesCrossOrigin(t *testing.T) {
	srv, base := ivssimtest.Start(t, ivssimtest.Config(nil))
	post := func(contentType, body string, header bool, origin string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/_sim/faults", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if header {
			req.Header.Set(ivssim.AdminHeader, "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"rate_drop": {"1"}}.Encode()
	for _, c := range []struct {
		name        string
		contentType string
		body        string
		header      bool
		want        int
	}{
		{"form POST from a page", "application/x-www-form-urlencoded", form, false, http.StatusForbidden},
		{"multipart form", "multipart/form-data; boundary=x", "--x\r\n\r\n{}\r\n--x--", false, http.StatusForbidden},
		{"text/plain fetch", "text/plain", `{"rate_drop":1}`, false, http.StatusForbidden},
		{"JSON without the header", "application/json", `{"rate_drop":1}`, false, http.StatusForbidden},
		{"form with the header", "application/x-www-form-urlencoded", form, true, http.StatusUnsupportedMediaType},
		{"text/plain with the header", "text/plain", `{"rate_drop":1}`, true, http.StatusUnsupportedMediaType},
	} {
		if got := post(c.contentType, c.body, c.header, "http://evil.example"); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if f := srv.CurrentFaults(); f.RateDrop != 0 {
		t.Fatalf("a refused request changed the faults: %+v", f)
	}
	if got := post("application/json; charset=utf-8", `{"rate_500":0.5}`, true, ""); got != http.StatusOK {
		t.Fatalf("the simulator's own admin POST: %d", got)
	}
	if f := srv.CurrentFaults(); f.Rate500 != 0.5 {
		t.Fatalf("faults after the admin POST: %+v", f)
	}

	// Another machine, or a page whose name was rebound to 127.0.0.1: the
	// handler sees the client's address and the Host as sent.
	for _, c := range []struct{ remote, host string }{
		{"192.0.2.7:40000", "127.0.0.1:8090"},
		{"127.0.0.1:40000", "evil.example:8090"},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://"+c.host+"/_sim/ledger/reset", strings.NewReader("{}"))
		req.RemoteAddr = c.remote
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(ivssim.AdminHeader, "1")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("client %s, Host %s: %d, want 403", c.remote, c.host, rec.Code)
		}
	}
	// Probes need no header; reading the ledger does.
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/_sim/ledger")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET ledger without the header: %d", resp.StatusCode)
	}
}
