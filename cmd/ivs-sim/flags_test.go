package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfigFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IVS_AK": "AK1", "IVS_SK": "SK1", "IVS_IAM_DOMAIN": "d", "IVS_IAM_USER": "u", "IVS_IAM_PASSWORD_FILE": pwFile}
	o, err := parseFlags([]string{"-quota", "5", "-token-ttl", "1m", "-rate-500", "0.25", "-slow-delay", "3s", "-latency", "10ms"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Quota != 5 || cfg.TokenTTL != time.Minute || cfg.Faults.Rate500 != 0.25 || cfg.Faults.SlowDelay != 3*time.Second ||
		cfg.Latency.Fixed != 10*time.Millisecond || cfg.Credentials[0].AK != "AK1" || cfg.IAMUsers[0].Password != "s3cret" {
		t.Errorf("config %+v", cfg)
	}
	cfg, err = o.config(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil || cfg.Credentials[0].AK != demoAK || len(cfg.IAMUsers) != 0 || cfg.Registry == nil || cfg.Registry.Len() != 0 {
		t.Errorf("demo fallback: %+v %v", cfg.Credentials, err)
	}
	if _, err := parseFlags([]string{"extra"}); err == nil {
		t.Error("extra argument accepted")
	}
}

// The simulator started through Main with an explicit Config on a free
// port, as the command does: it answers /healthz and stops with its context.
func TestMainServesAndStops(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"-addr", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	m := &Main{Config: cfg, Addr: o.addr, Log: slog.New(slog.DiscardHandler)}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	cancel()
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get(m.URL() + "/healthz"); err == nil {
		t.Fatal("still serving after Close")
	}
}
