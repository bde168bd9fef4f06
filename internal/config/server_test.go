package config_test

import (
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/config"
)

func TestServer(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if _, err := config.Server(env("IVSBATCH_SERVER_ADDR", "0.0.0.0:8080")); err == nil ||
		!strings.Contains(err.Error(), "IVSBATCH_SERVER_ADDR") {
		t.Fatalf("plain HTTP on every address: %v, want refused naming IVSBATCH_SERVER_ADDR", err)
	}
	c, err := config.Server(env("IVSBATCH_SERVER_ADDR", "0.0.0.0:8080", "IVSBATCH_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1"))
	if err != nil || len(c.TrustedProxies) != 2 {
		t.Fatalf("behind a proxy: %+v %v", c, err)
	}
	if _, err := config.Server(env("IVSBATCH_SERVER_TLS_CERT_FILE", "/c.pem")); err == nil ||
		!strings.Contains(err.Error(), "IVSBATCH_SERVER_TLS_KEY_FILE") {
		t.Fatalf("a certificate without a key: %v", err)
	}
	if _, err := config.Server(env("IVSBATCH_SERVER_TRUSTED_PROXIES", "the proxy")); err == nil {
		t.Fatal("a proxy that is no address accepted")
	}
}
