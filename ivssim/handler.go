package ivssim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// serveIVS runs one IVS call in the order the real stack does: gateway
// (method, body size, auth, quota), then faults and latency, then the
// service (account state, Content-Type, validation, verdict).
func (s *Server) serveIVS(w http.ResponseWriter, r *http.Request, ep pipeline.Endpoint) {
	s.ledger.countRequest()
	start := time.Now()
	status, code, uuid := s.handleIVS(w, r, ep)
	if status != "" { // "" = already recorded (a dropped connection)
		s.ledger.record(status, code, uuid)
	}
	s.log.Debug("ivssim: call", slog.String("endpoint", string(ep)), slog.String("status", status),
		slog.String("code", code), slog.String("uuid", uuid), slog.Duration("duration", time.Since(start)))
}

// handleIVS answers and returns the ledger's status key, code and uuid.
func (s *Server) handleIVS(w http.ResponseWriter, r *http.Request, ep pipeline.Endpoint) (status, code, uuid string) {
	if r.Method != http.MethodPost {
		return s.answerError(w, fail(CodeAPINotFound, ""))
	}
	body, e := readBody(w, r)
	if e != nil {
		return s.answerError(w, e)
	}
	who, e := s.authenticate(r, body)
	if e != nil {
		return s.answerError(w, e)
	}
	if !s.quota.allow(string(ep), s.cfg.Now()) {
		w.Header().Set("Retry-After", "2")
		return s.answerError(w, fail(CodeThrottled, s.quota.limitString()))
	}
	if st, code, done := s.injectFaults(w, who); done {
		return st, code, ""
	}
	s.sleep(s.latency())
	return s.service(w, r, ep, body)
}

// service is the IVS backend proper: only its 200s are billed.
func (s *Server) service(w http.ResponseWriter, r *http.Request, ep pipeline.Endpoint, body []byte) (status, code, uuid string) {
	if st := s.AccountState(); st != "" {
		return s.answerError(w, fail(st, ""))
	}
	if r.Header.Get("Content-Type") == "" {
		return s.answerError(w, fail(CodeContentType, ""))
	}
	req, e := parseRequest(body)
	if e != nil {
		return s.answerError(w, e)
	}
	// The backend keeps working when the caller gives up; it has its own deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
	defer cancel()
	res, e := s.verify(ctx, ep, req)
	if e != nil {
		return s.answerError(w, e)
	}
	writeJSON(w, http.StatusOK, ivs.ResponseBody{
		Meta:   ivs.Meta{UUID: req.uuid},
		Result: ivs.ResultEnvelope{ServiceName: serviceName(ep), Count: 1, RespData: []ivs.Result{res}},
	})
	return "200", strconv.Itoa(res.VerificationCode), req.uuid
}

func serviceName(ep pipeline.Endpoint) string {
	if ep == pipeline.EndpointExtention {
		return "ivs-idcard-extention"
	}
	return "ivs-standard"
}

func (s *Server) answerError(w http.ResponseWriter, e *apiError) (status, code, uuid string) {
	writeError(w, e)
	return statusKey(e.Status), e.Code, ""
}

// readBody reads at most MaxBodyBytes within ReadTimeout.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(ReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, failStatus(http.StatusRequestEntityTooLarge, CodeGatewayBackend, "Request entity too large")
	case err != nil:
		return nil, failStatus(http.StatusBadRequest, CodeGatewayBackend, "Bad request: cannot read body")
	}
	return body, nil
}
