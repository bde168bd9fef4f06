// Package ops holds the operator commands of ivsbatch (cmd/ops): re-queuing
// records, the nightly reconcile, queue and batch status, per-batch budgets
// of billed calls, prevalidation without calling IVS, and per-batch exports
// (CSV with masked personal data) and HTML reports. Every command that
// changes something writes an audit_log row (store.Audit, store.AuditTx); none writes
// personal data there.
package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSince reads an RFC 3339 time or a Go duration counted back from now
// ("12h" = twelve hours ago). "" is the zero time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("-since %q: want an RFC 3339 time (2025-01-02T15:04:05+08:00) or a duration (12h)", s)
	}
	return now.Add(-d), nil
}

// ParseIDs reads a comma-separated list of record ids.
func ParseIDs(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("record id %q: want a positive integer", f)
		}
		out = append(out, id)
	}
	return out, nil
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
