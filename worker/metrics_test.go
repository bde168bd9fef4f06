package worker_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// A scrape shows records by status; when Postgres cannot be read the scrape
// says so in ivsbatch_metrics_scrape_errors_total instead of dropping it.
func TestMetricsScrapeErrorsVisible(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(worker.NewFleetCollector(st, rdb, pipeline.DefaultTaskTimeout, nil))
	srv := httptest.NewServer(worker.MetricsHandler(st, rdb, reg, false))
	defer srv.Close()
	scrape := func() string {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := scrape(); strings.Contains(body, `ivsbatch_metrics_scrape_errors_total`) ||
		!strings.Contains(body, "ivsbatch_fleet_exporter 1") {
		t.Fatalf("scrape error, or not the fleet exporter, with Postgres up:\n%s", body)
	}
	st.Close() // Postgres unreadable from now on
	if body := scrape(); !strings.Contains(body, `ivsbatch_metrics_scrape_errors_total{source="records"} 1`) {
		t.Fatalf("no scrape error counted with the store closed:\n%s", body)
	}
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.TrimSpace(string(b)) != "postgres: not answering" {
		t.Fatalf("/healthz with the store closed: %d %q, want 503 naming Postgres and no driver message", resp.StatusCode, b)
	}
}
