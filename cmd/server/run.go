package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ivsbatch/ivsbatch/console"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/server/api"
)

func run(ctx context.Context, log *slog.Logger, args []string) error {
	fs := cli.NewFlags("server run", "", `Serves the JSON API (/api/v1, described at /api/v1/openapi.yaml), the
operator console, /healthz (200 when Postgres and Redis answer) and /metrics
(Prometheus; a viewer token) until SIGINT/SIGTERM, then finishes the
requests under way (30 s). Listens on IVSBATCH_SERVER_ADDR with TLS from
IVSBATCH_SERVER_TLS_CERT_FILE/_KEY_FILE, or behind the reverse proxies named
by IVSBATCH_SERVER_TRUSTED_PROXIES, or on loopback only. Prints
"listening on ADDR" once it accepts connections.`)
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Server(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger = log
	// Objects: manifests from s3://, the media policy of their rows.
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Store|cmdenv.Redis|cmdenv.Objects|cmdenv.Quota|cmdenv.Policy)
	if err != nil {
		return err
	}
	defer env.Close()
	st, rdb, objs, quota, policy := env.Store, env.Redis, env.Objects, env.Config.Quota, env.Config.Policy
	srv, err := server.New(cfg, st, rdb)
	if err != nil {
		return err
	}
	api.New(api.Deps{Store: st, Redis: rdb, Objects: objs, Quota: quota, MaxUpload: cfg.MaxUpload, Logger: log}).Register(srv)
	con, err := console.New(console.Config{Store: st, Auth: console.ServerAuth{}, Objects: objs, Quota: quota,
		MaxAttempts: policy.MaxAttempts, MaxUpload: cfg.MaxUpload, Logger: log})
	if err != nil {
		return err
	}
	srv.LoginPage = con.LoginPage()
	srv.Mount("/", con)
	return srv.ListenAndServe(ctx, func(addr string) { os.Stdout.WriteString("listening on " + addr + "\n") })
}
