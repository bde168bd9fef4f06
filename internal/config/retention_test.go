package config_test

import (
	"slices"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/retention"
)

// The variables the README's table lists for retention are the ones the
// policy reads; a bad value or a window longer than the inputs' retention
// is refused.
func TestRetentionSettings(t *testing.T) {
	var want []string
	for _, k := range retention.Kinds {
		want = append(want, k.Env())
	}
	if !slices.Equal(config.RetentionVariables, want) {
		t.Fatalf("RetentionVariables %v; the policy reads %v", config.RetentionVariables, want)
	}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if p, err := config.Retention(get(map[string]string{"IVSBATCH_RETAIN_OCR": "10d"})); err != nil || p[retention.OCR] != 10*retention.Day {
		t.Fatalf("retention: %v %v", p, err)
	}
	for _, bad := range []map[string]string{{"IVSBATCH_RETAIN_OCR": "soon"},
		{"IVSBATCH_RETAIN_INPUTS": "10d", "IVSBATCH_DEDUP_WINDOW": "720h"}} {
		if _, err := config.Retention(get(bad)); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	if v, err := config.PurgeCron(get(nil)); err != nil || v == "" {
		t.Fatalf("default purge cron: %q %v", v, err)
	}
	if _, err := config.PurgeCron(get(map[string]string{"IVSBATCH_PURGE_CRON": "every hour"})); err == nil {
		t.Error("a bad purge cron accepted")
	}
}
