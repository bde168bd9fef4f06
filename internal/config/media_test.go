package config_test

import (
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/media/tool"
)

func TestMedia(t *testing.T) {
	cfg, err := config.Media(env(map[string]string{media.ConcurrencyEnv: "3", "IVSBATCH_TRIM_VIDEO": "true"}))
	if err != nil || cfg.MaxConcurrent != 3 || !cfg.TrimVideo {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	if cfg, err := config.Media(env(nil)); err != nil || cfg.MaxConcurrent != 0 {
		t.Fatalf("default: got %+v, %v", cfg, err)
	}
	for _, bad := range []string{"0", "-1", "two", "1.5"} {
		_, err := config.Media(env(map[string]string{media.ConcurrencyEnv: bad}))
		if err == nil || !strings.Contains(err.Error(), media.ConcurrencyEnv) || !strings.Contains(err.Error(), `"`+bad+`"`) ||
			!strings.Contains(err.Error(), "positive whole number") {
			t.Errorf("%q: got %v, want an error naming the variable, the value and what is expected", bad, err)
		}
	}
	if cfg, err := config.Media(env(nil)); err != nil || cfg.Tools.Sandbox != "" {
		t.Fatalf("sandbox default: got %+v, %v; want the zero value (media/tool's default, Landlock)", cfg.Tools, err)
	}
	if cfg, err := config.Media(env(map[string]string{media.SandboxEnv: "rlimits"})); err != nil || cfg.Tools.Sandbox != tool.RlimitsOnly {
		t.Fatalf("%s=rlimits: got %+v, %v", media.SandboxEnv, cfg.Tools, err)
	}
	if _, err := config.Media(env(map[string]string{media.SandboxEnv: "off"})); err == nil || !strings.Contains(err.Error(), media.SandboxEnv) {
		t.Errorf("%s=off: got %v, want an error naming the variable", media.SandboxEnv, err)
	}
}

// Every command reading media denies the kept pictures as a source.
func TestMediaSourceDeniesKeptPictures(t *testing.T) {
	t.Parallel()
	c, err := config.MediaSource(env(map[string]string{"IVSBATCH_KEEP_PICTURES": "s3://media/liveness", "IVSBATCH_S3_BUCKETS": "media"}))
	if err != nil || len(c.DenyPrefixes) != 1 || c.DenyPrefixes[0] != "s3://media/liveness" {
		t.Fatalf("got %+v, %v", c.DenyPrefixes, err)
	}
	if _, err := config.MediaSource(env(map[string]string{"IVSBATCH_KEEP_PICTURES": "media/liveness"})); err == nil ||
		!strings.Contains(err.Error(), "IVSBATCH_KEEP_PICTURES") {
		t.Fatalf("a relative prefix: %v, want an error naming the variable", err)
	}
}

// IVSBATCH_PRICE_PER_CALL: an amount and an optional currency; unset is the
// zero (unknown) price; anything else names the variable.
func TestPrice(t *testing.T) {
	t.Parallel()
	if p, err := config.Price(env(map[string]string{"IVSBATCH_PRICE_PER_CALL": " 0.3 CNY "})); err != nil || p.Amount != 0.3 || p.Currency != "CNY" {
		t.Errorf("0.3 CNY: %+v %v", p, err)
	}
	if p, err := config.Price(env(nil)); err != nil || p.Amount != 0 {
		t.Errorf("unset: %+v %v; want the zero price", p, err)
	}
	for _, bad := range []string{"cheap", "-1 CNY", "NaN"} {
		if _, err := config.Price(env(map[string]string{"IVSBATCH_PRICE_PER_CALL": bad})); err == nil ||
			!strings.Contains(err.Error(), `IVSBATCH_PRICE_PER_CALL="`+bad+`"`) {
			t.Errorf("%q: %v; want an error naming the variable and the value", bad, err)
		}
	}
}
