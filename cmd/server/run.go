package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ivsbatch/ivsbatch/console"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/objstore"
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
	quota, err := config.Quota(os.Getenv)
	if err != nil {
		return err
	}
	policy, err := config.Policy(os.Getenv)
	if err != nil {
		return err
	}
	ocfg, err := config.MediaSource(os.Getenv) // manifests from s3://, the media policy of their rows
	if err != nil {
		return err
	}
	objs, err := objstore.New(ctx, ocfg)
	if err != nil {
		return err
	}
	st, err := config.OpenStore(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, err := config.ConnectRedis(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
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
