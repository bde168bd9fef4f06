package media

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := ConfigFromEnv(env(map[string]string{ConcurrencyEnv: "3", "IVSBATCH_TRIM_VIDEO": "true"}))
	if err != nil || cfg.MaxConcurrent != 3 || !cfg.TrimVideo {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	if cfg, err := ConfigFromEnv(env(nil)); err != nil || New(cfg).cfg.MaxConcurrent < 2 {
		t.Fatalf("default: got %+v, %v", cfg, err)
	}
	for _, bad := range []string{"0", "-1", "two", "4 ", "1.5"} {
		_, err := ConfigFromEnv(env(map[string]string{ConcurrencyEnv: bad}))
		if err == nil || !strings.Contains(err.Error(), ConcurrencyEnv) || !strings.Contains(err.Error(), `"`+bad+`"`) ||
			!strings.Contains(err.Error(), "at least 1") {
			t.Errorf("%q: got %v, want an error naming the variable, the value and what is expected", bad, err)
		}
	}
	if cfg, err := ConfigFromEnv(env(nil)); err != nil || cfg.Tools.Sandbox != "" {
		t.Fatalf("sandbox default: got %+v, %v; want the zero value (media/tool's default, Landlock)", cfg.Tools, err)
	}
	if cfg, err := ConfigFromEnv(env(map[string]string{SandboxEnv: "rlimits"})); err != nil || cfg.Tools.Sandbox != tool.RlimitsOnly {
		t.Fatalf("%s=rlimits: got %+v, %v", SandboxEnv, cfg.Tools, err)
	}
	if _, err := ConfigFromEnv(env(map[string]string{SandboxEnv: "off"})); err == nil || !strings.Contains(err.Error(), SandboxEnv) {
		t.Errorf("%s=off: got %v, want an error naming the variable", SandboxEnv, err)
	}
}

// TestConcurrencyLimit checks that a preparation waits for a free slot and
// gives up, without a rejection, when its context ends first.
func TestConcurrencyLimit(t *testing.T) {
	p := New(Config{MaxConcurrent: 1})
	p.slots <- struct{}{} // another preparation is running
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Prepare(ctx, pipeline.MediaFaceImage, []byte("x"))
	var rej pipeline.Rejection
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rej) {
		t.Fatalf("got %v, want a wrapped deadline that is not a rejection", err)
	}
	<-p.slots
	if _, err := p.Prepare(context.Background(), pipeline.MediaFaceImage, []byte("x")); ErrorCode(err) != CodeNotImage {
		t.Fatalf("with the slot free: got %v, want %s", err, CodeNotImage)
	}
}
