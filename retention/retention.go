// Package retention says how long each kind of personal data is kept: the
// policy (one duration per kind, counted from the record's final outcome),
// read from the environment in one place and checked against the dedup
// window. It owns no query: store purges what the policy says, ops runs the
// purge by hand and on the workers' schedule.
package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

// Kind is a kind of data with a retention of its own.
type Kind string

// The kinds of data, in the order a purge handles them.
const (
	// Pictures are the kept liveness pictures (faces): the objects and the
	// records' references to them.
	Pictures Kind = "pictures"
	// Messages ("errors", IVSBATCH_RETAIN_ERRORS) are the stored error
	// messages (records and attempts), which may quote what a library said
	// about a person's media.
	Messages Kind = "errors"
	// OCR is the id card's OCR result (every field).
	OCR Kind = "ocr"
	// Inputs are the sealed inputs (name, id number, media references, the
	// customer's metadata) and the blind indexes and digest made from them.
	Inputs Kind = "inputs"
	// Verdicts are what a back office keeps longest: the record itself
	// (ref, shape, status, code, similarity, times, attempts). Past their
	// retention the record and its attempts are deleted.
	Verdicts Kind = "verdicts"
)

// Kinds lists every kind in purge order.
var Kinds = []Kind{Pictures, Messages, OCR, Inputs, Verdicts}

// Env names the variable that sets k's retention.
func (k Kind) Env() string { return "IVSBATCH_RETAIN_" + strings.ToUpper(string(k)) }

// Policy is how long each kind is kept after the record's final outcome.
// Zero keeps it forever (allowed for verdicts only).
type Policy map[Kind]time.Duration

// Default is the policy when nothing is configured: faces a week, the
// other personal data 30 days (the dedup window's default, which needs the
// inputs' digest), verdicts five years (the anti-money-laundering rules'
// record keeping).
func Default() Policy {
	return Policy{
		Pictures: 7 * Day,
		Messages: 30 * Day,
		OCR:      30 * Day,
		Inputs:   30 * Day,
		Verdicts: 5 * 365 * Day,
	}
}

// Day is 24 hours.
const Day = 24 * time.Hour

// MinRetention is the shortest retention: outcomes are stamped by the
// database's clock, the cut-off by the purging process's.
const MinRetention = time.Hour

// FromEnv reads IVSBATCH_RETAIN_<KIND> for every kind (a Go duration or a
// number of days, "30d"; "0" for verdicts keeps them forever) over the
// defaults, and checks the result against dedupWindow (see Validate).
func FromEnv(get envconf.Lookup, dedupWindow time.Duration) (Policy, error) {
	p := Default()
	for _, k := range Kinds {
		v := strings.TrimSpace(get(k.Env()))
		if v == "" {
			continue
		}
		d, err := ParseDuration(v)
		if err != nil || (d < MinRetention && !(k == Verdicts && d == 0)) {
			want := "a duration of at least 1h, such as 720h or 30d"
			if k == Verdicts {
				want += ", or 0 to keep verdicts forever"
			}
			return nil, &envconf.Error{Name: k.Env(), Value: v, Want: want}
		}
		p[k] = d
	}
	if err := p.Validate(dedupWindow); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseDuration reads a Go duration ("720h") or a whole number of days
// ("30d").
func ParseDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q: want a whole number of days", v)
		}
		return time.Duration(days) * Day, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 720h or 30d", v)
	}
	return d, nil
}

// Validate checks that every kind has a retention, that no personal data
// outlives the verdict it belongs to, and that the dedup window (≤ 0: no
// reuse across batches) does not outlive the inputs' digest it reads. An
// error is an *envconf.Error naming the variable to change.
func (p Policy) Validate(dedupWindow time.Duration) error {
	bad := func(k Kind, want string) error {
		return &envconf.Error{Name: k.Env(), Value: FormatDuration(p[k]), Want: want}
	}
	for _, k := range Kinds {
		d, ok := p[k]
		if !ok {
			return fmt.Errorf("retention: no retention for %s", k)
		}
		if k != Verdicts && d < MinRetention {
			return bad(k, "at least "+MinRetention.String())
		}
		if k != Verdicts && p[Verdicts] != 0 && d > p[Verdicts] {
			return bad(k, "at most the verdicts' retention ("+Verdicts.Env()+"="+FormatDuration(p[Verdicts])+"): no personal data outlives its verdict")
		}
	}
	if dedupWindow > p[Inputs] {
		return bad(Inputs, "at least IVSBATCH_DEDUP_WINDOW ("+dedupWindow.String()+"), whose reuse reads the inputs' digest: keep the inputs longer or shorten the window")
	}
	return nil
}

// Cutoff is when a record must have finished for k to be purged at now
// (the zero time when k is kept forever).
func (p Policy) Cutoff(k Kind, now time.Time) time.Time {
	if p[k] == 0 {
		return time.Time{}
	}
	return now.Add(-p[k])
}

// String is the policy as "pictures=168h0m0s …", for logs and the audit log.
func (p Policy) String() string {
	var b strings.Builder
	for i, k := range Kinds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", k, FormatDuration(p[k]))
	}
	return b.String()
}

// FormatDuration writes whole days as "30d", "forever" for 0, else as Go does.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d%Day == 0:
		return strconv.Itoa(int(d/Day)) + "d"
	}
	return d.String()
}
