package webhook

import (
	"cmp"
	"fmt"
	"time"
)

// Config is how events are delivered. Zero values take the defaults below
// (WithDefaults); internal/config reads it from the environment.
type Config struct {
	// BaseURL, when set, is where the server (cmd/server) answers: payloads
	// link the batch in its API and console under it.
	BaseURL string
	// AllowPrivate lets endpoints resolve to loopback, private and other
	// non-public addresses (off by default: an endpoint is a URL an operator
	// typed, and a worker can reach what the internet cannot).
	AllowPrivate bool
	Timeout      time.Duration // one attempt, connection to last byte (default 10 s)
	MaxRetry     int           // retries after the first attempt (default 16: about 8 h with the backoff below)
	RetryBase    time.Duration // first retry's delay, doubled each retry (default 10 s)
	RetryMax     time.Duration // longest delay between attempts (default 1 h)
	Concurrency  int           // deliveries at once per worker process (default 4)
	MaxResponse  int64         // bytes of an answer read at most (default 4 KiB; the rest is dropped)
	// Interval is how often the dispatcher looks for new events (default 1 s).
	Interval time.Duration
}

// The defaults.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxRetry    = 16
	DefaultRetryBase   = 10 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultConcurrency = 4
	DefaultMaxResponse = 4 << 10
	DefaultInterval    = time.Second
)

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxRetry = cmp.Or(c.MaxRetry, DefaultMaxRetry)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.MaxResponse = cmp.Or(c.MaxResponse, DefaultMaxResponse)
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	return c
}

// Validate says which field cannot work.
func (c Config) Validate() error {
	switch {
	case c.Timeout < 0 || c.RetryBase < 0 || c.RetryMax < 0 || c.Interval < 0:
		return fmt.Errorf("webhook.Config: negative duration")
	case c.MaxRetry < 0 || c.Concurrency < 0 || c.MaxResponse < 0:
		return fmt.Errorf("webhook.Config: negative count")
	}
	if c.BaseURL != "" {
		if _, err := CheckURL(c.BaseURL); err != nil {
			return fmt.Errorf("webhook.Config.BaseURL (IVSBATCH_WEBHOOK_BASE_URL): %w", err)
		}
	}
	return nil
}

// Backoff is the delay before retry n (1 for the first retry).
func (c Config) Backoff(n int) time.Duration {
	d := c.RetryBase
	for i := 1; i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}
