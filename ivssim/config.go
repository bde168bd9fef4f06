package ivssim

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/synth"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTokenTTL  = 24 * time.Hour
	DefaultQuota     = 10.0
	DefaultSlowDelay = 35 * time.Second
	DefaultFFprobe   = "ffprobe"
	// MaxBodyBytes is the gateway's request body limit (APIG's default, 12 MB);
	// a larger body is answered 413 APIG.0201.
	MaxBodyBytes = 12 << 20
	// ReadTimeout bounds reading one request body, so a stalled client cannot
	// hold a handler.
	ReadTimeout = 30 * time.Second
	// MaxClockSkew is how far X-Sdk-Date may be from the simulator's clock.
	MaxClockSkew = 15 * time.Minute
)

// Credential is an AK/SK pair the simulator accepts for SDK-HMAC-SHA256.
type Credential struct {
	AK, SK string
}

// IAMUser is a password identity the simulated IAM issues tokens for.
type IAMUser struct {
	Domain, User, Password string
}

// Latency is the service time added to every IVS call: Fixed plus a uniform
// random extra in [0, Jitter].
type Latency struct {
	Fixed  time.Duration `json:"fixed"`
	Jitter time.Duration `json:"jitter"`
}

// Faults are injected failures, each a probability in [0, 1] drawn per IVS
// request after the quota check. Rate500 answers 500 IVS.0101, Rate504 504
// APIG.0201, RateSlow delays the answer by SlowDelay (default 35 s) and then
// answers (and bills) normally, RateDrop closes the connection without an
// answer, RateTokenExpire expires the caller's IAM token early (401
// APIG.0307). In JSON, slow_delay is a Go duration string ("2s").
type Faults struct {
	Rate500         float64       `json:"rate_500"`
	Rate504         float64       `json:"rate_504"`
	RateSlow        float64       `json:"rate_slow"`
	SlowDelay       time.Duration `json:"-"`
	RateDrop        float64       `json:"rate_drop"`
	RateTokenExpire float64       `json:"rate_token_expire"`
}

// Config configures a Server. Zero values take defaults.
type Config struct {
	Credentials []Credential // AK/SK pairs accepted
	IAMUsers    []IAMUser    // password identities accepted by POST /v3/auth/tokens
	ProjectID   string       // when set, a request whose X-Project-Id differs is refused (401 APIG.0301)
	TokenTTL    time.Duration
	Quota       float64 // requests per second per endpoint; default 10; negative = off
	Latency     Latency
	Faults      Faults
	Registry    *synth.Registry // the simulated authority; nil = nobody exists (every id → 3001)
	FFprobe     string          // default "ffprobe" from PATH
	Tools       tool.Config     // how ffprobe runs, as in the worker (media/tool): Landlock and rlimits by default
	Now         func() time.Time
	Logger      *slog.Logger
	Seed        int64 // seed of the fault and latency RNG
}

func (c *Config) withDefaults() {
	c.TokenTTL = cmp.Or(c.TokenTTL, DefaultTokenTTL)
	c.Quota = cmp.Or(c.Quota, DefaultQuota)
	c.Faults.SlowDelay = cmp.Or(c.Faults.SlowDelay, DefaultSlowDelay)
	c.FFprobe = cmp.Or(c.FFprobe, DefaultFFprobe)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = synth.NewRegistry(nil)
	}
}

func (c *Config) validate() error {
	if len(c.Credentials) == 0 && len(c.IAMUsers) == 0 {
		return errors.New("ivssim config: no Credentials and no IAMUsers: nothing could authenticate")
	}
	for i, cr := range c.Credentials {
		if cr.AK == "" || cr.SK == "" {
			return fmt.Errorf("ivssim config: Credentials[%d]: AK and SK are required", i)
		}
	}
	for i, u := range c.IAMUsers {
		if u.Domain == "" || u.User == "" || u.Password == "" {
			return fmt.Errorf("ivssim config: IAMUsers[%d]: Domain, User and Password are required", i)
		}
	}
	if c.TokenTTL < 0 {
		return fmt.Errorf("ivssim config: TokenTTL %v is negative", c.TokenTTL)
	}
	if c.Latency.Fixed < 0 || c.Latency.Jitter < 0 {
		return errors.New("ivssim config: Latency values must not be negative")
	}
	return c.Faults.validate()
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{
		"Rate500": f.Rate500, "Rate504": f.Rate504, "RateSlow": f.RateSlow,
		"RateDrop": f.RateDrop, "RateTokenExpire": f.RateTokenExpire,
	} {
		if r < 0 || r > 1 {
			return fmt.Errorf("ivssim faults: %s %v is outside [0, 1]", name, r)
		}
	}
	if f.SlowDelay < 0 {
		return fmt.Errorf("ivssim faults: SlowDelay %v is negative", f.SlowDelay)
	}
	return nil
}
