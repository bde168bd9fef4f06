package pipeline_test

import (
	"github.com/ivsbatch/ivsbatch/internal/config"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

func TestRetryTable(t *testing.T) {
	t.Parallel()
	p := pipeline.DefaultPolicy()
	for class, want := range map[pipeline.Class]pipeline.Action{
		pipeline.ClassVerdict: pipeline.ActFinal, pipeline.ClassBilledOdd: pipeline.ActFinal, pipeline.ClassInputError: pipeline.ActFinal,
		pipeline.ClassTransient: pipeline.ActRetry, pipeline.ClassThrottled: pipeline.ActSlow, pipeline.ClassAuthRefresh: pipeline.ActRefresh,
		pipeline.ClassAccountStop: pipeline.ActPause, pipeline.ClassAmbiguous: pipeline.ActRetry,
	} {
		if got := p.Action(class); got != want {
			t.Errorf("%s: %s, want %s", class, got, want)
		}
	}
	if err := p.ParseRules("ambiguous=final, transient=retry"); err != nil {
		t.Fatal(err)
	}
	if p.Action(pipeline.ClassAmbiguous) != pipeline.ActFinal {
		t.Error("override not applied")
	}
	for _, bad := range []string{"verdict=retry", "billed_odd=retry", "nosuch=final", "transient=again", "transient"} {
		q := pipeline.DefaultPolicy()
		if err := q.ParseRules(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	env := map[string]string{"IVSBATCH_MAX_ATTEMPTS": "0"}
	if _, err := config.Policy(func(k string) string { return env[k] }); err == nil {
		t.Error("IVSBATCH_MAX_ATTEMPTS=0: want an error")
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	t.Parallel()
	p := pipeline.DefaultPolicy()
	p.BackoffBase, p.BackoffMax = time.Second, 10*time.Second
	for attempt := 1; attempt <= 30; attempt++ {
		full := min(p.BackoffMax, time.Second<<min(attempt-1, 20))
		for range 50 {
			d := p.Backoff(attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[p.Backoff(3)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter")
	}
}
