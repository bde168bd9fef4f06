package ivssim

import (
	"net/http"
	"time"
)

// injectFaults draws the configured faults for one accepted request. done
// means the request has been answered (or its connection dropped).
func (s *Server) injectFaults(w http.ResponseWriter, who caller) (status, code string, done bool) {
	s.mu.Lock()
	f := s.faults
	expire, drop := s.hit(f.RateTokenExpire), s.hit(f.RateDrop)
	f504, f500, slow := s.hit(f.Rate504), s.hit(f.Rate500), s.hit(f.RateSlow)
	s.mu.Unlock()
	switch {
	case expire && who.token != "":
		s.tokens.expire(who.token, s.cfg.Now())
		st, c, _ := s.answerError(w, fail(CodeTokenExpired, ""))
		return st, c, true
	case drop:
		s.ledger.record("dropped", "", "") // before: the drop may unwind the handler
		dropConnection(w)
		return "", "", true
	case f504:
		s.sleep(s.latency())
		st, c, _ := s.answerError(w, fail(CodeGatewayBackend, ""))
		return st, c, true
	case f500:
		st, c, _ := s.answerError(w, fail(CodeInternal, ""))
		return st, c, true
	case slow:
		s.sleep(f.SlowDelay) // then answered and billed normally, even if the caller left
	}
	return "", "", false
}

// hit draws one fault with probability rate; s.mu must be held.
func (s *Server) hit(rate float64) bool { return rate > 0 && s.rng.Float64() < rate }

// latency draws Fixed + uniform [0, Jitter].
func (s *Server) latency() time.Duration {
	l := s.cfg.Latency
	if l.Jitter <= 0 {
		return l.Fixed
	}
	s.mu.Lock()
	j := time.Duration(s.rng.Int64N(int64(l.Jitter) + 1))
	s.mu.Unlock()
	return l.Fixed + j
}

// sleep waits d, or until Close. It ignores the caller going away: the
// service finishes (and bills) work whose caller has left.
func (s *Server) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stop.Done():
	}
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
