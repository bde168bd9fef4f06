package ivssim

import (
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
)

// AdminHeader must be "1" on every /_sim request. A web page can send a
// custom header to another origin only after a CORS preflight, which the
// simulator never grants: no page a developer visits can change faults or
// reset the ledger (a form POST, a text/plain fetch, an <img>).
const AdminHeader = "X-IVSSim-Admin"

// checkAdmin refuses an admin request that does not come from loopback to
// a loopback Host (a DNS-rebound name is not), that lacks AdminHeader, or,
// for a POST, whose body is not declared application/json. It writes the
// refusal and returns false.
func checkAdmin(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case !loopbackAddr(r.RemoteAddr):
		adminError(w, http.StatusForbidden, "admin routes answer loopback clients only")
	case !loopbackHost(r.Host):
		adminError(w, http.StatusForbidden, "admin routes answer requests to a loopback host only (127.0.0.1, [::1], localhost)")
	case r.Header.Get(AdminHeader) != "1":
		adminError(w, http.StatusForbidden, "admin routes need the header "+AdminHeader+": 1")
	case r.Method == http.MethodPost && !jsonBody(r):
		adminError(w, http.StatusUnsupportedMediaType, "admin POSTs take Content-Type: application/json")
	default:
		return true
	}
	return false
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.EqualFold(host, "localhost") || loopbackAddr(host)
}

func jsonBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// serveAdmin serves the /_sim routes:
//
//	GET  /_sim/ledger          the Ledger as JSON
//	POST /_sim/ledger/reset    ResetLedger
//	POST /_sim/account         {"state":"IVS.0014"|"IVS.0015"|""}
//	GET  /_sim/faults          the Faults in force
//	POST /_sim/faults          Faults JSON (rates, slow_delay "2s")
//	POST /_sim/tokens/expire   ExpireTokens
//
// Only from loopback, with AdminHeader, POSTs as application/json (see
// checkAdmin).
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !checkAdmin(w, r) {
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_sim/ledger":
		writeJSON(w, http.StatusOK, s.Ledger())
	case "POST /_sim/ledger/reset":
		s.ResetLedger()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "POST /_sim/account":
		var b struct {
			State string `json:"state"`
		}
		if !decodeAdmin(w, r, &b) {
			return
		}
		if err := s.setAccountState(b.State); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"state": b.State})
	case "GET /_sim/faults":
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "POST /_sim/faults":
		var f Faults
		if !decodeAdmin(w, r, &f) {
			return
		}
		if err := s.setFaults(f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "POST /_sim/tokens/expire":
		s.ExpireTokens()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	default:
		adminError(w, http.StatusNotFound, "no such admin route: "+route)
	}
}

// decodeAdmin reads a JSON body (checkAdmin has checked its type).
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
