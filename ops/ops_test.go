package ops

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if got, err := ParseSince("12h", now); err != nil || !got.Equal(now.Add(-12*time.Hour)) {
		t.Errorf("12h: %v %v", got, err)
	}
	if got, err := ParseSince("2025-05-31T08:00:00+08:00", now); err != nil || !got.Equal(time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
	if got, err := ParseSince("", now); err != nil || !got.IsZero() {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"yesterday", "-3h", "2025-13-01"} {
		if _, err := ParseSince(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseIDs(t *testing.T) {
	ids, err := ParseIDs(" 1, 2,,3 ")
	if err != nil || len(ids) != 3 || ids[2] != 3 {
		t.Errorf("ParseIDs: %v %v", ids, err)
	}
	if _, err := ParseIDs("1,x"); err == nil {
		t.Error("bad id accepted")
	}
	p := filepath.Join(t.TempDir(), "ids.txt")
	_ = os.WriteFile(p, []byte("# redo\n10\n\n11\n"), 0o600)
	if ids, err := ReadIDsFile(p); err != nil || len(ids) != 2 || ids[1] != 11 {
		t.Errorf("ReadIDsFile: %v %v", ids, err)
	}
	_ = os.WriteFile(p, []byte("10\nabc\n"), 0o600)
	if _, err := ReadIDsFile(p); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("bad file: %v", err)
	}
}

// Every chart draws axes; empty ones say "no data" and draw no bars, full
// ones draw bars (and the calls chart its quota line either way).
func TestChartsEmptyAndFull(t *testing.T) {
	en := i18n.English
	empty := []chart{
		verdictChart(store.BatchStatus{Counts: store.Counts{ByStatus: map[pipeline.Status]int{}}}, en),
		similarityChart(nil, en), errorChart(nil, time.Minute, en, time.UTC), callsChart(nil, 10, en, time.UTC),
	}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	full := []chart{
		verdictChart(store.BatchStatus{ByVerdict: map[store.VerdictKey]int{{Code: 1000, Verdict: "valid"}: 3},
			Counts: store.Counts{ByStatus: map[pipeline.Status]int{pipeline.StatusDone: 3, pipeline.StatusFailed: 1}, Total: 4}}, en),
		similarityChart([]int{0, 1, 0, 0, 0, 0, 0, 0, 1, 1}, en), // 12, 850 (scaled: 85), 95
		errorChart([]store.CodeBucket{{At: t0, Code: "IVS.0101", Count: 2}, {At: t0.Add(2 * time.Minute), Code: "APIG.0308", Count: 1}}, time.Minute, en, time.UTC),
		callsChart([]store.SecondCount{{At: t0, Endpoint: "/v2.0/ivs-standard", Count: 9}, {At: t0.Add(3 * time.Second), Endpoint: "/v2.0/ivs-idcard-extention", Count: 4}}, 10, en, time.UTC),
	}
	render := func(c chart) string {
		var b bytes.Buffer
		if err := reportTmpl.Execute(&b, reportData{Charts: []chart{c}}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, c := range empty {
		h := render(c)
		if !strings.Contains(h, ">no data<") || strings.Contains(h, `<rect class="bar"`) || !strings.Contains(h, `class="axis"`) {
			t.Errorf("empty %s: no-data text, no bars and axes expected", c.ID)
		}
	}
	for _, c := range full {
		h := render(c)
		if strings.Contains(h, ">no data<") || !strings.Contains(h, `<rect class="bar"`) || strings.Contains(h, "ZgotmplZ") {
			t.Errorf("full %s: bars expected\n%s", c.ID, h)
		}
	}
	if !strings.Contains(render(full[3]), `class="quota"`) || !strings.Contains(render(empty[3]), `class="quota"`) {
		t.Error("calls chart without quota line")
	}
	// long spans: per-second bars are bucketed to at most maxSeconds slots
	var long []store.SecondCount
	for i := range 3600 {
		long = append(long, store.SecondCount{At: t0.Add(time.Duration(i) * time.Second), Endpoint: "e", Count: 1 + i%10})
	}
	if c := callsChart(long, 10, en, time.UTC); len(c.Bars) > maxSeconds {
		t.Errorf("%d bars for an hour of seconds", len(c.Bars))
	}
}
