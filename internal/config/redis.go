package config

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Redis reads where Redis is:
//
//   - IVSBATCH_REDIS_URL: redis://[user:password@]host:port[/db],
//     rediss://… (TLS), or redis-sentinel://[:sentinel-password@]host:port[,host:port…][/db]?master=NAME
//     (the scheme asynq's ParseRedisURI understands);
//   - or IVSBATCH_REDIS_ADDR (host:port, default 127.0.0.1:6379) with IVSBATCH_REDIS_DB;
//   - IVSBATCH_REDIS_PASSWORD (or IVSBATCH_REDIS_PASSWORD_FILE) when the URL has none
//     (with Sentinel: the primary's password; the URL's is the sentinels');
//   - IVSBATCH_REDIS_TLS_CA_FILE, IVSBATCH_REDIS_TLS_CERT_FILE and IVSBATCH_REDIS_TLS_KEY_FILE
//     (PEM) for rediss:// and redis-sentinel://; with Sentinel, setting any of them turns TLS on
//     for the sentinels and the primary.
//
// A bad value is an error naming the variable, the value and what is
// expected (an *envconf.Invalid: exit 2).
func Redis(getenv envconf.Lookup) (worker.RedisConfig, error) {
	c, err := redisConfig(getenv)
	if err != nil {
		return c, &envconf.Invalid{Err: err}
	}
	return c, nil
}

func redisConfig(getenv envconf.Lookup) (worker.RedisConfig, error) {
	raw, addr, db := getenv("IVSBATCH_REDIS_URL"), getenv("IVSBATCH_REDIS_ADDR"), getenv("IVSBATCH_REDIS_DB")
	password, err := redisPassword(getenv)
	if err != nil {
		return worker.RedisConfig{}, err
	}
	tlsFiles := [3]string{getenv("IVSBATCH_REDIS_TLS_CA_FILE"), getenv("IVSBATCH_REDIS_TLS_CERT_FILE"), getenv("IVSBATCH_REDIS_TLS_KEY_FILE")}
	if raw == "" {
		if tlsFiles != [3]string{} {
			return worker.RedisConfig{}, fmt.Errorf("IVSBATCH_REDIS_TLS_*: set, but no IVSBATCH_REDIS_URL: want a rediss:// or redis-sentinel:// URL with them")
		}
		return redisFromAddr(addr, db, password)
	}
	if addr != "" || db != "" {
		return worker.RedisConfig{}, fmt.Errorf("IVSBATCH_REDIS_URL and IVSBATCH_REDIS_ADDR/IVSBATCH_REDIS_DB are both set: want one (the database goes in the URL's path)")
	}
	return parseRedisURL(raw, password, tlsFiles)
}

func redisFromAddr(addr, db, password string) (worker.RedisConfig, error) {
	if addr == "" {
		addr = worker.DefaultRedisAddr
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return worker.RedisConfig{}, fmt.Errorf("IVSBATCH_REDIS_ADDR %q: want host:port", addr)
	}
	o := asynq.RedisClientOpt{Addr: addr, Password: password}
	if db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return worker.RedisConfig{}, fmt.Errorf("IVSBATCH_REDIS_DB %q: want a database number (0, 1, …)", db)
		}
		o.DB = n
	}
	return worker.RedisConfig{Conn: o, Display: fmt.Sprintf("redis://%s/%d", addr, o.DB)}, nil
}

func redisPassword(getenv envconf.Lookup) (string, error) {
	if p := getenv("IVSBATCH_REDIS_PASSWORD"); p != "" {
		return p, nil
	}
	f := getenv("IVSBATCH_REDIS_PASSWORD_FILE")
	if f == "" {
		return "", nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("IVSBATCH_REDIS_PASSWORD_FILE %q: %w", f, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// parseRedisURL reads IVSBATCH_REDIS_URL strictly: the scheme, every
// host:port, the database number and the query are checked.
func parseRedisURL(raw, password string, tlsFiles [3]string) (worker.RedisConfig, error) {
	bad := func(want string) error {
		return fmt.Errorf("IVSBATCH_REDIS_URL %q: %s", redactURL(raw), want)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.Fragment != "" {
		return worker.RedisConfig{}, bad("want redis://host:port[/db], rediss://host:port[/db] or redis-sentinel://host:port[,host:port…][/db]?master=NAME")
	}
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return worker.RedisConfig{}, bad(fmt.Sprintf("%q: want host:port", h))
		}
	}
	db := 0
	if p := strings.Trim(u.Path, "/"); p != "" {
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return worker.RedisConfig{}, bad(fmt.Sprintf("path %q: want a database number", u.Path))
		}
	}
	user := u.User.Username()
	urlPassword, _ := u.User.Password()
	q := u.Query()
	display := u.Scheme + "://" + u.Host + "/" + strconv.Itoa(db)
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) != 1 || len(q) > 0 {
			return worker.RedisConfig{}, bad("want one host:port and no query for " + u.Scheme + "://")
		}
		o := asynq.RedisClientOpt{Addr: u.Host, Username: user, Password: cmp.Or(urlPassword, password), DB: db}
		if u.Scheme == "rediss" {
			host, _, _ := net.SplitHostPort(u.Host)
			if o.TLSConfig, err = tlsConfig(host, tlsFiles); err != nil {
				return worker.RedisConfig{}, err
			}
		} else if tlsFiles != [3]string{} {
			return worker.RedisConfig{}, bad("IVSBATCH_REDIS_TLS_* set: want rediss:// for TLS")
		}
		return worker.RedisConfig{Conn: o, Display: display}, nil
	case "redis-sentinel":
		master := q.Get("master")
		if master == "" || len(q) != 1 || len(q["master"]) != 1 {
			return worker.RedisConfig{}, bad("want exactly one query parameter, master=NAME (the primary's name in Sentinel)")
		}
		o := asynq.RedisFailoverClientOpt{MasterName: master, SentinelAddrs: hosts, SentinelUsername: user,
			SentinelPassword: urlPassword, Password: password, DB: db}
		if tlsFiles != [3]string{} {
			host, _, _ := net.SplitHostPort(hosts[0])
			if o.TLSConfig, err = tlsConfig(host, tlsFiles); err != nil {
				return worker.RedisConfig{}, err
			}
		}
		return worker.RedisConfig{Conn: o, Display: display + "?master=" + master}, nil
	default:
		return worker.RedisConfig{}, bad(fmt.Sprintf("scheme %q: want redis, rediss or redis-sentinel", u.Scheme))
	}
}

// tlsConfig builds the client TLS settings from PEM files: the CA that signed
// the server's certificate (default: the system's roots) and an optional
// client certificate and key (both or neither).
func tlsConfig(serverName string, files [3]string) (*tls.Config, error) {
	ca, cert, key := files[0], files[1], files[2]
	c := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("IVSBATCH_REDIS_TLS_CA_FILE %q: %w", ca, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("IVSBATCH_REDIS_TLS_CA_FILE %q: want PEM certificates, found none", ca)
		}
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("IVSBATCH_REDIS_TLS_CERT_FILE %q and IVSBATCH_REDIS_TLS_KEY_FILE %q: want both (a client certificate and its key) or neither", cert, key)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("IVSBATCH_REDIS_TLS_CERT_FILE %q / IVSBATCH_REDIS_TLS_KEY_FILE %q: %w", cert, key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// redactURL hides a password in raw (for error messages and logs).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…@" + raw[i+1:]
		}
		return raw
	}
	return u.Redacted()
}
