package config

import (
	"net/netip"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/server"
)

// Server reads the server's settings (cmd/server run); a bad value is an
// *envconf.Error naming the variable. Secrets are never settings here:
// tokens and passwords live hashed in Postgres.
func Server(get envconf.Lookup) (server.Config, error) {
	var c server.Config
	var err error
	if c.Addr, err = envconf.HostPort(get, "IVSBATCH_SERVER_ADDR", "127.0.0.1:8080"); err != nil {
		return c, err
	}
	c.TLSCertFile = envconf.String(get, "IVSBATCH_SERVER_TLS_CERT_FILE", "")
	c.TLSKeyFile = envconf.String(get, "IVSBATCH_SERVER_TLS_KEY_FILE", "")
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		name := "IVSBATCH_SERVER_TLS_KEY_FILE"
		if c.TLSCertFile == "" {
			name = "IVSBATCH_SERVER_TLS_CERT_FILE"
		}
		return c, &envconf.Error{Name: name, Value: "", Want: "a file, as the other of the certificate and key is set"}
	}
	if v := envconf.String(get, "IVSBATCH_SERVER_TRUSTED_PROXIES", ""); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return c, &envconf.Error{Name: "IVSBATCH_SERVER_TRUSTED_PROXIES", Value: v,
						Want: "comma-separated addresses or CIDR prefixes, such as 10.0.0.0/8,127.0.0.1"}
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	if c.SessionTTL, err = envconf.PositiveDuration(get, "IVSBATCH_SERVER_SESSION_TTL", 12*time.Hour); err != nil {
		return c, err
	}
	mb, err := envconf.PositiveInt(get, "IVSBATCH_SERVER_MAX_UPLOAD_MB", 1024, "MiB")
	if err != nil {
		return c, err
	}
	c.MaxUpload = int64(mb) << 20
	if err := c.Validate(); err != nil {
		return c, &envconf.Error{Name: "IVSBATCH_SERVER_ADDR", Value: c.Addr,
			Want: "a loopback address unless IVSBATCH_SERVER_TLS_CERT_FILE/_KEY_FILE or IVSBATCH_SERVER_TRUSTED_PROXIES is set"}
	}
	return c, nil
}
