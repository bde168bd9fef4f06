package ivssim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Server is one simulated IVS account: the two IVS endpoints, IAM token
// issuance and the /_sim admin routes. It is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	creds  map[string]string // AK → SK
	tokens *tokenStore
	quota  *quota
	ledger *ledger
	probe  *prober

	mu      sync.Mutex
	faults  Faults
	account string // "", CodeFrozen or CodeNotSubscribed
	rng     *mrand.Rand

	stop     context.Context // cancelled by Close: ends simulated waits
	stopFunc context.CancelFunc
}

// New validates cfg, applies defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		creds:  make(map[string]string, len(cfg.Credentials)),
		tokens: newTokenStore(),
		quota:  newQuota(cfg.Quota),
		ledger: newLedger(),
		probe:  &prober{bin: cfg.FFprobe, tools: tool.New(cfg.Tools), log: cfg.Logger},
		faults: cfg.Faults,
		rng:    mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x1f5)),
	}
	s.stop, s.stopFunc = context.WithCancel(context.Background())
	for _, c := range cfg.Credentials {
		s.creds[c.AK] = c.SK
	}
	return s, nil
}

// Close ends every simulated wait (latency, slow faults) at once, so that an
// http.Server's Shutdown does not wait for them. The Server still answers.
func (s *Server) Close() { s.stopFunc() }

// Handler returns the HTTP handler for the IVS, IAM and /_sim admin routes.
// It never panics out and bounds the time spent reading a request body.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(ivs.HeaderRequestID, newRequestID())
	defer s.recoverPanic(w, r)
	switch p := r.URL.Path; {
	case p == string(pipeline.EndpointStandard) || p == string(pipeline.EndpointExtention):
		s.serveIVS(w, r, pipeline.Endpoint(p))
	case p == "/v3/auth/tokens":
		s.serveIAM(w, r)
	case p == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		// For probes: answers without the admin header, changes and shows nothing.
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case strings.HasPrefix(p, "/_sim/"):
		s.serveAdmin(w, r)
	default:
		s.ledger.countOther()
		writeError(w, fail(CodeAPINotFound, ""))
	}
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v) // deliberate connection drop
	}
	s.log.Error("ivssim: handler panic", slog.String("path", r.URL.Path), slog.String("panic", fmt.Sprint(v)))
	writeError(w, fail(CodeInternal, ""))
}

// SetAccountState switches the account: "" normal, "IVS.0014" frozen
// (arrears), "IVS.0015" not subscribed. Other values are ignored (and logged).
func (s *Server) SetAccountState(code string) {
	if err := s.setAccountState(code); err != nil {
		s.log.Warn("ivssim: set account state", slog.String("error", err.Error()))
	}
}

func (s *Server) setAccountState(code string) error {
	if code != "" && code != CodeFrozen && code != CodeNotSubscribed {
		return fmt.Errorf("account state %q: want \"\", %s or %s", code, CodeFrozen, CodeNotSubscribed)
	}
	s.mu.Lock()
	s.account = code
	s.mu.Unlock()
	return nil
}

// AccountState returns the current account state ("" when normal).
func (s *Server) AccountState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account
}

// SetFaults replaces the fault rates. A zero SlowDelay means the default;
// rates outside [0, 1] are ignored (and logged).
func (s *Server) SetFaults(f Faults) {
	if err := s.setFaults(f); err != nil {
		s.log.Warn("ivssim: set faults", slog.String("error", err.Error()))
	}
}

func (s *Server) setFaults(f Faults) error {
	if f.SlowDelay == 0 {
		f.SlowDelay = DefaultSlowDelay
	}
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	return nil
}

// CurrentFaults returns the fault rates in force.
func (s *Server) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// ExpireTokens makes every token issued so far expired now.
func (s *Server) ExpireTokens() { s.tokens.expireAll(s.cfg.Now()) }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
