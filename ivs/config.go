package ivs

import "time"

// Config is the client's settings as plain values (internal/config reads
// them from the environment; tests write them). Options turns it into the
// options New takes; a logger, HTTP client or clock is added as an option.
type Config struct {
	Endpoint    string // IVS base URL (default DefaultEndpoint)
	IAMEndpoint string // IAM base URL for tokens (default: Endpoint)
	Region      string // default cn-north-4; the default token project scope
	ProjectID   string // X-Project-Id with AK/SK
	// EnterpriseProjectID is sent as Enterprise-Project-Id (cost allocation).
	EnterpriseProjectID string
	Timeout             time.Duration // per call (default DefaultTimeout)
	// AK and SK sign requests; Password, when set, uses IAM password
	// tokens instead.
	AK, SK   string
	Password *PasswordAuth
}

// Options returns c as options for New: the fields set, AK/SK signing
// unless Password is set.
func (c Config) Options() []Option {
	var opts []Option
	for _, kv := range []struct {
		value string
		opt   func(string) Option
	}{
		{c.Endpoint, WithEndpoint}, {c.IAMEndpoint, WithIAMEndpoint}, {c.Region, WithRegion},
		{c.ProjectID, WithProjectID}, {c.EnterpriseProjectID, WithEnterpriseProjectID},
	} {
		if kv.value != "" {
			opts = append(opts, kv.opt(kv.value))
		}
	}
	if c.Timeout > 0 {
		opts = append(opts, WithTimeout(c.Timeout))
	}
	if c.Password != nil {
		return append(opts, WithPassword(*c.Password))
	}
	return append(opts, WithAKSK(c.AK, c.SK))
}

// CallTimeout is c's per-call timeout, DefaultTimeout when unset.
func (c Config) CallTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}
