package retention_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/retention"
)

func env(kv ...string) envconf.Lookup {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	p, err := retention.FromEnv(env(), 720*time.Hour)
	if err != nil || p[retention.Pictures] != 7*retention.Day || p[retention.Verdicts] != 5*365*retention.Day {
		t.Fatalf("defaults: %v %v", p, err)
	}
	p, err = retention.FromEnv(env("IVSBATCH_RETAIN_PICTURES", "3d", "IVSBATCH_RETAIN_VERDICTS", "0",
		"IVSBATCH_RETAIN_INPUTS", "2160h"), 720*time.Hour)
	if err != nil || p[retention.Pictures] != 3*retention.Day || p[retention.Verdicts] != 0 || p[retention.Inputs] != 90*retention.Day {
		t.Fatalf("set: %v %v", p, err)
	}
	if !p.Cutoff(retention.Verdicts, time.Now()).IsZero() {
		t.Error("verdicts kept forever have a cut-off")
	}
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	if c := p.Cutoff(retention.Pictures, now); !c.Equal(now.Add(-3 * retention.Day)) {
		t.Errorf("cut-off %s", c)
	}
	for _, bad := range []struct{ name, value, want string }{
		{"IVSBATCH_RETAIN_PICTURES", "a week", "want a duration of at least 1h"},
		{"IVSBATCH_RETAIN_OCR", "0", "want a duration of at least 1h"},
		{"IVSBATCH_RETAIN_ERRORS", "30m", "want a duration of at least 1h"},
		{"IVSBATCH_RETAIN_INPUTS", "7d", "want at least IVSBATCH_DEDUP_WINDOW"},
		{"IVSBATCH_RETAIN_VERDICTS", "10d", "want at most the verdicts' retention"},
	} {
		_, err := retention.FromEnv(env(bad.name, bad.value), 720*time.Hour)
		var ee *envconf.Error
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s=%s: %v; want an envconf error with %q", bad.name, bad.value, err, bad.want)
		}
	}
	if _, err := retention.FromEnv(env("IVSBATCH_RETAIN_INPUTS", "7d"), -1); err != nil {
		t.Errorf("inputs 7d without reuse across batches: %v", err)
	}
	if s := retention.Default().String(); s != "pictures=7d errors=30d ocr=30d inputs=30d verdicts=1825d" {
		t.Errorf("policy string %q", s)
	}
}
