package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// collectRegisterer keeps what is registered with it.
type collectRegisterer struct{ cs []prometheus.Collector }

func (r *collectRegisterer) Register(c prometheus.Collector) error {
	r.cs = append(r.cs, c)
	return nil
}
func (r *collectRegisterer) MustRegister(cs ...prometheus.Collector) { r.cs = append(r.cs, cs...) }
func (r *collectRegisterer) Unregister(prometheus.Collector) bool    { return false }

// exportedNames are the names of every series a worker exports: its
// Metrics and its FleetCollector, as described to Prometheus.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	st, err := store.Open(t.Context(), testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never asked: Describe reads nothing
	t.Cleanup(func() { _ = rdb.Close() })
	reg := &collectRegisterer{}
	worker.NewMetrics(reg)
	reg.MustRegister(worker.NewFleetCollector(st, rdb, pipeline.DefaultTaskTimeout, nil))
	names := map[string]bool{"up": true} // Prometheus's own
	fqName := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, c := range reg.cs {
		ch := make(chan *prometheus.Desc, 64)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
		}
	}
	return names
}

var seriesName = regexp.MustCompile(`\b(ivsbatch_[a-z_]+|up)\b`)

// checkNames fails for every series expr queries that no worker exports.
func checkNames(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, n := range seriesName.FindAllString(expr, -1) {
		base := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !names[n] && !names[base] {
			t.Errorf("%s queries %s, which no worker exports", where, n)
		}
	}
}

// The Grafana dashboard and the alert rules query only series the worker
// exports (a renamed metric or label breaks this test, not a dashboard in
// production), and every dashboard query parses (promtool checks them as
// recording rules).
func TestDashboardAndRulesQueryExportedSeries(t *testing.T) {
	names := exportedNames(t)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	b, err := os.ReadFile("grafana/dashboards/ivsbatch.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	queries := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			checkNames(t, fmt.Sprintf("dashboard panel %q", p.Title), target.Expr, names)
			q, _ := json.Marshal(target.Expr) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", queries, q)
		}
	}
	if queries < 10 {
		t.Fatalf("the dashboard has %d queries", queries)
	}
	file := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testenv.LookBin(t, "promtool"), "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("dashboard queries do not parse: %v\n%s", err, out)
	}

	rulesYML, err := os.ReadFile("prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rulesYML), "\n") {
		if code, _, _ := strings.Cut(line, "#"); strings.Contains(code, "ivsbatch_") {
			checkNames(t, "rules.yml", code, names)
		}
	}
	// Every alert has a runbook line in the README.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\w+)`).FindAllStringSubmatch(string(rulesYML), -1) {
		if !slices.Contains(alerts, m[1]) {
			alerts = append(alerts, m[1])
		}
	}
	for _, a := range alerts {
		if !strings.Contains(string(readme), "| `"+a+"` |") {
			t.Errorf("alert %s has no runbook line in README.md", a)
		}
	}
	if len(alerts) < 13 {
		t.Errorf("rules.yml has %d alerts: %v", len(alerts), alerts)
	}
}
