// Command healthcheck asks a server's health URL and exits 0 when it
// answers 2xx within the timeout, 1 otherwise: the image's HEALTHCHECK and
// the compose and Kubernetes probes use it, so the image needs no curl.
//
//	healthcheck http://127.0.0.1:9090/healthz       # a worker (IVSBATCH_METRICS_ADDR)
//	healthcheck http://127.0.0.1:8090/_sim/ledger   # the IVS simulator
//
// A URL whose host is empty or unspecified (":9090", "0.0.0.0:9090", the
// form IVSBATCH_METRICS_ADDR takes to listen on every interface) is asked on
// the loopback address. A bare host:port means http://host:port/healthz.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/cli"
)

func main() {
	cli.Run("healthcheck", run)
}

func run(ctx context.Context, args []string) error {
	fs := cli.NewFlags("healthcheck", "[flags] URL|HOST:PORT", `Asks URL (a bare HOST:PORT means http://HOST:PORT/healthz) and exits 0 when
it answers 2xx within -timeout, 1 otherwise (with the status or error on one
line). An empty or unspecified host (":9090", "0.0.0.0:9090") is asked on
127.0.0.1.`)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := cli.Parse(fs, args, "URL")
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return cli.Usagef(fs, "-timeout must be positive")
	}
	target, err := healthURL(pos[0])
	if err != nil {
		return cli.Usagef(fs, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", target, resp.Status)
	}
	return nil
}

// healthURL turns the argument into the URL to ask: a bare host:port gets
// http:// and /healthz; an empty or unspecified host becomes 127.0.0.1.
func healthURL(arg string) (string, error) {
	if !strings.Contains(arg, "://") {
		arg = "http://" + arg + "/healthz"
	}
	u, err := url.Parse(arg)
	if err != nil {
		return "", fmt.Errorf("URL %q: %v", arg, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("URL %q: want http:// or https://", arg)
	}
	host, port := u.Hostname(), u.Port()
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else {
		u.Host = host
	}
	return u.String(), nil
}
