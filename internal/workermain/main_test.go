package workermain_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/internal/workermain"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/worker"
)

// A worker built by Main from an explicit Config on real servers and a free
// metrics port serves /healthz and /metrics (its own registry, the Go
// collectors too), and stops with its context.
func TestMainRunsAndStops(t *testing.T) {
	t.Parallel()
	c := workermain.DefaultConfig()
	c.DatabaseURL, c.PoolConns, c.Keyring = testenv.PostgresURL(t), 4, testenv.Keyring(t)
	addr := testenv.Redis(t)
	c.Redis = worker.RedisConfig{Conn: asynq.RedisClientOpt{Addr: addr}, Display: "redis://" + addr}
	c.IVS = ivs.Config{Endpoint: "https://ivs.invalid", AK: "ak", SK: "sk"} // no record: never called
	c.MetricsAddr, c.ReconcileCron, c.PurgeCron = "127.0.0.1:0", "off", "off"
	ctx, cancel := context.WithCancel(t.Context())
	m := &workermain.Main{Config: c}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "go_goroutines"} {
		resp, err := http.Get(m.MetricsURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %s, body lacks %q", path, resp.Status, want)
		}
	}
	cancel()
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// What a Config lacks is an *envconf.Missing naming the variable (exit 2),
// found before any server is asked.
func TestMainRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	c := workermain.DefaultConfig()
	c.DatabaseURL = "postgres://127.0.0.1:1/none"
	for _, tc := range []struct {
		change func(*workermain.Config)
		want   string
	}{
		{func(*workermain.Config) {}, "IVSBATCH_PII_KEYS"},
		{func(c *workermain.Config) { c.Keyring, c.Redis.Conn = testenv.Keyring(t), asynq.RedisClientOpt{} }, "IVS_ENDPOINT"},
		{func(c *workermain.Config) { c.IVS.Endpoint = "https://ivs.invalid" }, "IVS_AK/IVS_SK"},
	} {
		tc.change(&c)
		m := &workermain.Main{Config: c}
		err := m.Run(t.Context())
		var missing *envconf.Missing
		if !errors.As(err, &missing) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want a missing %s", err, tc.want)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close after a failed Run: %v", err)
		}
	}
}
