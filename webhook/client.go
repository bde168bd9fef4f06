package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/internal/version"
)

// ErrPrivateAddress is a connection refused because the endpoint resolved
// to an address that is not public (loopback, private, link-local, …)
// while Config.AllowPrivate is off.
var ErrPrivateAddress = errors.New("webhook: endpoint resolves to a non-public address (IVSBATCH_WEBHOOK_ALLOW_PRIVATE=true allows it)")

// notPublic are the ranges beside those netip classifies (loopback,
// private, link-local, multicast, unspecified) that no receiver on the
// internet has: "this network", carrier-grade NAT, IETF protocol
// assignments, benchmarking, documentation and reserved ranges, and NAT64.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("2001:db8::/32"),
}

// Public reports whether a receiver may be at ip when private addresses
// are not allowed.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Client posts signed deliveries. Every connection's address is checked
// after name resolution (a name that resolves to 127.0.0.1 or to the cloud
// metadata address is refused the same as the address itself), redirects
// are never followed (a 3xx is a failed attempt), no proxy from the
// environment is used, and at most MaxResponse bytes of an answer are read.
type Client struct {
	http        *http.Client
	maxResponse int64
}

// NewClient returns a client whose attempts last at most timeout each.
func NewClient(timeout time.Duration, allowPrivate bool, maxResponse int64) *Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("webhook: dial %s: not an address", address)
		}
		if !allowPrivate && !Public(ip) {
			return ErrPrivateAddress
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Client{maxResponse: maxResponse, http: &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Post delivers body (event ev's payload), signed with secret at now, to rawURL and returns the
// status code (0 when no answer came). Any answer but 2xx is an error.
func (c *Client) Post(ctx context.Context, rawURL string, secret, body []byte, ev Event, now time.Time) (int, error) {
	if _, err := CheckURL(rawURL); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ivsbatch-webhook/"+version.String())
	req.Header.Set(SignatureHeader, Sign(secret, body, now))
	req.Header.Set("Ivsbatch-Event-Id", PayloadID(ev.ID))
	req.Header.Set("Ivsbatch-Event-Type", string(ev.Type))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, c.maxResponse))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("answered %d: redirects are not followed", resp.StatusCode)
	}
	return resp.StatusCode, errors.New("answered " + strconv.Itoa(resp.StatusCode))
}

// maxErrorLen bounds an error message stored in the delivery log.
const maxErrorLen = 300

// sanitise makes err's message fit for the delivery log and the terminal:
// the endpoint's URL (whose query may hold a receiver's token) written as
// its scheme, host and path only, control characters escaped, at most
// maxErrorLen bytes.
func sanitise(err error, rawURL string) string {
	if err == nil {
		return ""
	}
	masked := "(endpoint)"
	if u, perr := CheckURL(rawURL); perr == nil {
		masked = u.Scheme + "://" + u.Host + u.EscapedPath()
	}
	msg := sink.Terminal(sink.Redact(err.Error(), sink.Secret{Value: rawURL, Mask: masked}))
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "") + "…"
	}
	return msg
}
