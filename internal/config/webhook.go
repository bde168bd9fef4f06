package config

import (
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// Webhook reads how webhook deliveries are made (package webhook) over c.
func Webhook(get envconf.Lookup, c webhook.Config) (webhook.Config, error) {
	var err error
	if c.BaseURL, err = envconf.URL(get, "IVSBATCH_WEBHOOK_BASE_URL", c.BaseURL, "https", "http"); err != nil {
		return c, err
	}
	if c.AllowPrivate, err = envconf.Bool(get, "IVSBATCH_WEBHOOK_ALLOW_PRIVATE", c.AllowPrivate); err != nil {
		return c, err
	}
	if c.Timeout, err = envconf.PositiveDuration(get, "IVSBATCH_WEBHOOK_TIMEOUT", c.Timeout); err != nil {
		return c, err
	}
	if c.MaxRetry, err = envconf.PositiveInt(get, "IVSBATCH_WEBHOOK_MAX_RETRY", c.MaxRetry, "retries"); err != nil {
		return c, err
	}
	return c, nil
}
