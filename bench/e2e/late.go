package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// lateCalls sums, per endpoint, the calls that came to their send slot too
// late and took a fresh one (ivsbatch_limiter_late_calls_total) over the
// worker processes serving metrics at addrs: each is a slot of the quota
// left unused.
func lateCalls(ctx context.Context, addrs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, addr := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("scrape worker metrics: %w", err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("parse worker metrics from %s: %w", addr, err)
		}
		f, ok := families["ivsbatch_limiter_late_calls_total"]
		if !ok {
			return nil, fmt.Errorf("worker metrics at %s: no ivsbatch_limiter_late_calls_total", addr)
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out, nil
}
