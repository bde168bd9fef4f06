package ivssim

import (
	"encoding/json"
	"io"
	"net/http"
)

// serveAdmin serves the /_sim routes:
//
//	GET  /_sim/ledger          the Ledger as JSON
//	POST /_sim/ledger/reset    ResetLedger
//	POST /_sim/account         {"state":"IVS.0014"|"IVS.0015"|""}
//	GET  /_sim/faults          the Faults in force
//	POST /_sim/faults          Faults JSON (rates, slow_delay "2s")
//	POST /_sim/tokens/expire   ExpireTokens
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
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
