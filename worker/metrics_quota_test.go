package worker_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// One label per dimension: every per-process series about an endpoint says
// endpoint, none says queue.
func TestMetricsLabelEndpointNotQueue(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := worker.NewMetrics(reg)
	m.SetQuota(10)
	m.Calls.WithLabelValues(string(pipeline.EndpointStandard), "1000").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byEndpoint := 0
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				switch l.GetName() {
				case "queue":
					t.Errorf("%s has a queue label", mf.GetName())
				case "endpoint":
					byEndpoint++
					if l.GetValue() != string(pipeline.EndpointStandard) && l.GetValue() != string(pipeline.EndpointExtention) {
						t.Errorf("%s: endpoint %q", mf.GetName(), l.GetValue())
					}
				}
			}
		}
	}
	if byEndpoint == 0 {
		t.Fatal("no series labelled endpoint")
	}
	if got, ok := value(t, reg, "ivsbatch_ivs_billed_calls_total", "endpoint", string(pipeline.EndpointExtention)); !ok || got != 0 {
		t.Fatalf("billed calls of an endpoint nobody called: %v (present %v), want a zero series", got, ok)
	}
	m.LateCall(pipeline.EndpointStandard) // what the limiter tells (ratelimit.Config.Late)
	for ep, want := range map[pipeline.Endpoint]float64{pipeline.EndpointStandard: 1, pipeline.EndpointExtention: 0} {
		if got, ok := value(t, reg, "ivsbatch_limiter_late_calls_total", "endpoint", string(ep)); !ok || got != want {
			t.Errorf("late calls of %s: %v (present %v), want %v", ep, got, ok, want)
		}
	}
}

// Records sent back by infrastructure trouble count under their endpoint and
// code; other results (done, a throttled retry, a plain error) do not.
func TestObserveTaskCountsInfraFailures(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := worker.NewMetrics(reg)
	for _, err := range []error{
		&pipeline.RetryLater{Reason: pipeline.CodeInfraFetch, Err: errors.New("s3: connection refused")},
		&pipeline.RetryLater{Reason: pipeline.CodeInfraFetch},
		&pipeline.RetryLater{Reason: "account paused (IVS.0014)", Err: pipeline.ErrPaused},
		errors.New("claim record"),
		nil,
	} {
		m.ObserveTask(taskqueue.QueueStandard, err)
	}
	m.ObserveTask(taskqueue.QueueExtention, &pipeline.RetryLater{Reason: pipeline.CodeInfraStore})
	for _, tc := range []struct {
		ep   pipeline.Endpoint
		code string
		want float64
	}{
		{pipeline.EndpointStandard, pipeline.CodeInfraFetch, 2},
		{pipeline.EndpointStandard, pipeline.CodeInfraStore, 0},
		{pipeline.EndpointExtention, pipeline.CodeInfraStore, 1},
		{pipeline.EndpointExtention, pipeline.CodeInfraFetch, 0},
	} {
		if got, _ := value(t, reg, "ivsbatch_infra_failures_total", "endpoint", string(tc.ep), "code", tc.code); got != tc.want {
			t.Errorf("infra failures %s %s = %v, want %v", tc.ep, tc.code, got, tc.want)
		}
	}
}

// value is the gauge or counter value of the series of name whose labels
// include the given name/value pairs, and whether there is one.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
