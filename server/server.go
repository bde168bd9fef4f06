// Package server is ivsbatch's HTTP server (cmd/server): the router, TLS or
// a trusted reverse proxy, request logs without personal data, /healthz and
// /metrics, and who is calling: API tokens for systems, accounts with
// sessions for people, roles, CSRF tokens and a login rate limit. The JSON
// API (server/api) and the operator console mount on it; both reach the
// data through ops/ and store/ only.
//
// For a handler, UserFrom gives the authenticated caller, RequireRole
// guards a route, and CSRFToken is what a form's csrf_token field holds.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/store"
)

// Server routes requests to the API, the console and its own pages after
// authenticating them.
type Server struct {
	cfg     Config
	st      *store.Store
	rdb     redis.UniversalClient
	log     *slog.Logger
	mux     *http.ServeMux
	reg     *prometheus.Registry
	metrics *httpMetrics
	logins  *loginLimiter
	// LoginPage renders GET /login (the console's, localised); nil: a
	// plain built-in form. Set before Handler is called.
	LoginPage http.Handler
	routes    []string
}

// New returns a server over st (and rdb, asked by /healthz) with its own
// routes: GET /healthz, GET /metrics (viewer), GET and POST /login, POST
// /logout.
func New(cfg Config, st *store.Store, rdb redis.UniversalClient) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, st: st, rdb: rdb, log: cfg.Logger, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newHTTPMetrics(s.reg)
	s.logins = newLoginLimiter(cfg.LoginsPerMinutePerAddr, cfg.LoginsPerMinutePerUser)
	s.Handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.Handle("GET /metrics", RequireRole(auth.Viewer, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	s.Handle("GET /login", http.HandlerFunc(s.loginPage))
	s.Handle("POST /login", http.HandlerFunc(s.login))
	s.Handle("POST /logout", http.HandlerFunc(s.logout))
	return s, nil
}

// Registerer is where handlers mounted on the server register their
// metrics (served on /metrics).
func (s *Server) Registerer() prometheus.Registerer { return s.reg }

// Handle registers h for a net/http pattern ("GET /api/v1/batches/{id}").
// The handler guards itself (RequireRole).
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, notePattern(h))
	s.routes = append(s.routes, pattern)
}

// Mount serves everything under prefix ("/" for the console) that no more
// specific pattern claims with h.
func (s *Server) Mount(prefix string, h http.Handler) { s.Handle(prefix, h) }

// Routes lists the registered patterns, in order.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Handler is the server's whole handler: recovery, security headers,
// request log and metrics, authentication, CSRF, then the routes.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = s.authenticate(h)
	h = s.observe(h)
	return h
}

// ListenAndServe serves until ctx ends, then shuts down gracefully (30 s).
// ready, when not nil, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	if s.cfg.TLS() {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			l.Close()
			return fmt.Errorf("server: TLS certificate: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"}})
	}
	if ready != nil {
		ready(l.Addr().String())
	}
	s.log.Info("server listening", "addr", l.Addr().String(), "tls", s.cfg.TLS(), "trusted_proxies", len(s.cfg.TrustedProxies))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthz answers 200 when Postgres and Redis answer, 503 naming the one
// that does not (never the driver's message).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.st.Pool().Ping(ctx); err != nil {
		http.Error(w, "postgres: not answering", http.StatusServiceUnavailable)
		return
	}
	if s.rdb != nil {
		if err := s.rdb.Ping(ctx).Err(); err != nil {
			http.Error(w, "redis: not answering", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}
