// Command ivs-sim runs the IVS simulator (package ivssim) as an HTTP server:
// the two IVS endpoints, IAM tokens and the /_sim admin routes.
//
// Credentials come only from the environment: IVS_AK / IVS_SK (or
// IVS_AK_FILE / IVS_SK_FILE) for AK/SK signatures, and IVS_IAM_DOMAIN,
// IVS_IAM_USER, IVS_IAM_PASSWORD (or IVS_IAM_PASSWORD_FILE) for tokens.
// Without IVS_AK/IVS_SK the documented demo pair is accepted.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/ivssim"
)

func main() {
	cli.Run("ivs-sim", func(ctx context.Context, args []string) error { return run(ctx, args, os.Getenv) })
}

// run parses args and the environment into a Main and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.level}))
	cfg, err := o.config(getenv, log)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Addr: o.addr, Account: o.account, Log: log}
	if err := m.Run(ctx); err != nil {
		return err
	}
	return m.Close()
}

// Main is the simulator as a program (as wtf's cmd/wtfd): Config is the
// simulator's, Addr where it listens; Run starts serving, Close (after the
// context given to Run ended) shuts it down.
type Main struct {
	Config  ivssim.Config
	Addr    string // listen address; port 0 picks one (see URL)
	Account string // initial account state ("", IVS.0014, IVS.0015)
	Log     *slog.Logger

	sim  *ivssim.Server
	srv  *http.Server
	url  string
	errc chan error
	ctx  context.Context
}

// URL is the simulator's base URL, once Run returned.
func (m *Main) URL() string { return m.url }

// Run builds the simulator and starts serving it. A Config the simulator
// cannot use is a usage error (exit 2).
func (m *Main) Run(ctx context.Context) error {
	sim, err := ivssim.New(m.Config)
	if err != nil { // a flag value the simulator cannot use
		fmt.Fprintf(os.Stderr, "ivs-sim: %v (see ivs-sim -h)\n", err)
		return cli.ExitCode(cli.ExitUsage)
	}
	m.sim, m.ctx = sim, ctx
	sim.SetAccountState(m.Account)
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		sim.Close()
		return fmt.Errorf("listen %s: %w", m.Addr, err)
	}
	m.url = "http://" + ln.Addr().String()
	m.srv = &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       ivssim.ReadTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	cfg := m.Config
	m.Log.Info("ivs-sim listening", slog.String("addr", ln.Addr().String()), slog.Int("people", cfg.Registry.Len()),
		slog.Float64("quota", cfg.Quota), slog.Int("aksk_credentials", len(cfg.Credentials)), slog.Int("iam_users", len(cfg.IAMUsers)))
	m.errc = make(chan error, 1)
	go func() { m.errc <- m.srv.Serve(ln) }()
	return nil
}

// Close waits until the context given to Run ends (or serving fails),
// then ends the simulated waits and shuts the server down.
func (m *Main) Close() error {
	if m.srv == nil {
		return nil
	}
	select {
	case err := <-m.errc:
		m.sim.Close()
		return fmt.Errorf("serve: %w", err)
	case <-m.ctx.Done():
	}
	m.Log.Info("ivs-sim shutting down")
	m.sim.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	m.Log.Info("ivs-sim stopped")
	return nil
}
