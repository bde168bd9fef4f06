package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Config is how the server listens and whom it trusts. Zero values take
// the defaults (WithDefaults).
type Config struct {
	Addr string // listen address (IVSBATCH_SERVER_ADDR, default 127.0.0.1:8080)
	// TLSCertFile and TLSKeyFile serve HTTPS (IVSBATCH_SERVER_TLS_CERT_FILE,
	// IVSBATCH_SERVER_TLS_KEY_FILE); both or neither.
	TLSCertFile, TLSKeyFile string
	// TrustedProxies are the reverse proxies (CIDR prefixes) whose
	// X-Forwarded-For names the client (IVSBATCH_SERVER_TRUSTED_PROXIES).
	// Without TLS the server listens on loopback only, or behind such a proxy.
	TrustedProxies []netip.Prefix
	SessionTTL     time.Duration // a session's lifetime (IVSBATCH_SERVER_SESSION_TTL, default 12h)
	MaxUpload      int64         // bytes of a manifest upload (IVSBATCH_SERVER_MAX_UPLOAD_MB, default 1024 MiB)
	// LoginsPerMinute bounds login attempts per client address and per
	// username (default 10 and 5, bursts the same).
	LoginsPerMinutePerAddr, LoginsPerMinutePerUser int
	Logger                                         *slog.Logger
	Now                                            func() time.Time
}

// WithDefaults fills zero fields with the defaults.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, "127.0.0.1:8080")
	c.SessionTTL = cmp.Or(c.SessionTTL, 12*time.Hour)
	c.MaxUpload = cmp.Or(c.MaxUpload, 1<<30)
	c.LoginsPerMinutePerAddr = cmp.Or(c.LoginsPerMinutePerAddr, 10)
	c.LoginsPerMinutePerUser = cmp.Or(c.LoginsPerMinutePerUser, 5)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// TLS reports whether the server serves HTTPS itself.
func (c Config) TLS() bool { return c.TLSCertFile != "" }

// Validate checks c (with its defaults): TLS needs both files, and plain
// HTTP listens on loopback unless a trusted proxy is named.
func (c Config) Validate() error { return c.WithDefaults().validate() }

func (c Config) validate() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("server: TLS needs both a certificate and a key file")
	}
	if c.TLS() || len(c.TrustedProxies) > 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("server: address %q: %w", c.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("server: %s is not a loopback address: serve TLS (certificate and key files) or name the reverse proxy that does (trusted proxies)", c.Addr)
	}
	return nil
}
