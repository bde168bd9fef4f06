package ivs

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Defaults used when an option is not given.
const (
	DefaultEndpoint      = "http://127.0.0.1:8090" // the project's simulator
	DefaultRegion        = "cn-north-4"
	DefaultTimeout       = pipeline.DefaultCallTimeout
	DefaultRefreshMargin = time.Hour
	DefaultTokenLifetime = 24 * time.Hour
)

// PasswordAuth is an IAM user's password identity, used to obtain tokens.
// Domain is the account name; Project is the token's project scope name
// (default: the region, e.g. "cn-north-4").
type PasswordAuth struct {
	Domain, User, Password, Project string
}

// Option configures a Client.
type Option func(*config)

type config struct {
	endpoint, iamEndpoint, region  string
	projectID, enterpriseProjectID string
	ak, sk                         string
	password                       *PasswordAuth
	httpClient                     *http.Client
	timeout, refreshMargin         time.Duration
	now                            func() time.Time
	logger                         *slog.Logger
}

// WithEndpoint sets the IVS base URL (default DefaultEndpoint, the simulator;
// the real service is https://ivs.cn-north-4.myhuaweicloud.com).
func WithEndpoint(baseURL string) Option { return func(c *config) { c.endpoint = baseURL } }

// WithIAMEndpoint sets the IAM base URL for token auth (default: the IVS
// endpoint, which the simulator serves; real: https://iam.cn-north-4.myhuaweicloud.com).
func WithIAMEndpoint(baseURL string) Option { return func(c *config) { c.iamEndpoint = baseURL } }

// WithRegion sets the region (default cn-north-4); it is the default token project scope.
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithProjectID sets the project id sent and signed as X-Project-Id with AK/SK auth.
func WithProjectID(id string) Option { return func(c *config) { c.projectID = id } }

// WithEnterpriseProjectID sets the Enterprise-Project-Id header (cost allocation).
func WithEnterpriseProjectID(id string) Option {
	return func(c *config) { c.enterpriseProjectID = id }
}

// WithAKSK selects AK/SK (SDK-HMAC-SHA256) auth.
func WithAKSK(ak, sk string) Option { return func(c *config) { c.ak, c.sk = ak, sk } }

// WithPassword selects IAM token auth with a password identity.
func WithPassword(p PasswordAuth) Option { return func(c *config) { c.password = &p } }

// WithHTTPClient replaces the client's shared http.Client (and its transport).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithTimeout sets the per-call timeout (default 30 s), covering auth,
// sending and reading the answer.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithNow injects the clock used for X-Sdk-Date and token expiry.
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger (default: discard). Nothing personal is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTokenRefreshMargin sets how long before expiry a cached token is
// replaced (default 1 h; at most half the token's lifetime is used).
func WithTokenRefreshMargin(d time.Duration) Option {
	return func(c *config) { c.refreshMargin = d }
}

func (c *config) withDefaults() {
	c.endpoint = strings.TrimRight(cmp.Or(c.endpoint, DefaultEndpoint), "/")
	c.iamEndpoint = strings.TrimRight(cmp.Or(c.iamEndpoint, c.endpoint), "/")
	c.region = cmp.Or(c.region, DefaultRegion)
	c.timeout = cmp.Or(c.timeout, DefaultTimeout)
	c.refreshMargin = cmp.Or(c.refreshMargin, DefaultRefreshMargin)
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.httpClient == nil {
		c.httpClient = newHTTPClient()
	}
	if c.password != nil {
		c.password.Project = cmp.Or(c.password.Project, c.region)
	}
}

func (c *config) validate() error {
	akMode := c.ak != "" || c.sk != ""
	switch {
	case akMode && c.password != nil:
		return errors.New("ivs: choose one auth mode: WithAKSK or WithPassword, not both")
	case !akMode && c.password == nil:
		return errors.New("ivs: no credentials: use WithAKSK or WithPassword")
	case akMode && (c.ak == "" || c.sk == ""):
		return errors.New("ivs: WithAKSK needs both the access key and the secret key")
	case c.password != nil && (c.password.Domain == "" || c.password.User == "" || c.password.Password == ""):
		return errors.New("ivs: WithPassword needs Domain, User and Password")
	case c.timeout < 0 || c.refreshMargin < 0:
		return errors.New("ivs: timeout and refresh margin must not be negative")
	}
	if err := validBaseURL("endpoint", c.endpoint); err != nil {
		return err
	}
	return validBaseURL("IAM endpoint", c.iamEndpoint)
}

func validBaseURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("ivs: %s: %w", what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ivs: %s %q: want http(s)://host[:port]", what, s)
	}
	return nil
}
