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

// run parses args, builds the simulator and serves until ctx ends.
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
	sim, err := ivssim.New(cfg)
	if err != nil { // a flag value the simulator cannot use
		fmt.Fprintf(os.Stderr, "ivs-sim: %v (see ivs-sim -h)\n", err)
		return cli.ExitCode(cli.ExitUsage)
	}
	sim.SetAccountState(o.account)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       ivssim.ReadTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("ivs-sim listening", slog.String("addr", ln.Addr().String()), slog.Int("people", cfg.Registry.Len()),
		slog.Float64("quota", cfg.Quota), slog.Int("aksk_credentials", len(cfg.Credentials)), slog.Int("iam_users", len(cfg.IAMUsers)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("ivs-sim shutting down")
	sim.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("ivs-sim stopped")
	return nil
}
