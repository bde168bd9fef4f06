package worker

import (
	"context"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// Label names. Every series about an IVS endpoint (calls, quota, limiter,
// queue depth, infrastructure failures) labels it endpoint, with the
// endpoint's path ("/v2.0/ivs-standard"); each endpoint has its own queue, so
// the queue is not a label of its own.
const (
	labelEndpoint = "endpoint"
	labelCode     = "code"
	labelClass    = "class"
)

// Metrics are the worker's per-process Prometheus instruments: what this
// process did. Fleet-wide state read from Postgres and Redis is
// FleetCollector's, exported by one process only.
type Metrics struct {
	Calls       *prometheus.CounterVec // by endpoint and code
	Billed      *prometheus.CounterVec // by endpoint: calls answered 200 (billed)
	CallSeconds *prometheus.HistogramVec
	LimiterWait *prometheus.HistogramVec

	// The quota story (alert rules in deploy/prometheus/): the quota, what
	// the limiter granted, what the calls came back as, possibly billed
	// attempts, lost-task recovery and infrastructure failures.
	Quota          *prometheus.GaugeVec   // by endpoint: the configured quota (requests/s)
	Granted        *prometheus.CounterVec // by endpoint: calls the shared limiter let through
	LateCalls      *prometheus.CounterVec // by endpoint: calls that came to their slot too late and took a fresh one
	Outcomes       *prometheus.CounterVec // by endpoint and class (verdict, throttled, transient …)
	PossiblyBilled *prometheus.CounterVec // by reason: ambiguous (timed out on the wire), abandoned (worker died)
	Recovered      prometheus.Counter     // records handed back to the queue by lost-task recovery
	RedisLost      prometheus.Counter     // times a feeder found that Redis had lost its data
	Infra          *prometheus.CounterVec // by endpoint and code (infra.fetch …): records sent back by infrastructure trouble

	Purged *prometheus.CounterVec // by kind of data: records this process's purges changed
}

// NewMetrics registers the worker's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_ivs_calls_total",
			Help: "IVS calls by endpoint and outcome code (verification code or error code)."}, []string{labelEndpoint, labelCode}),
		Billed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_ivs_billed_calls_total",
			Help: "IVS calls answered 200 (billed), by endpoint."}, []string{labelEndpoint}),
		CallSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ivsbatch_ivs_call_seconds",
			Help: "IVS call latency.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{labelEndpoint}),
		LimiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ivsbatch_limiter_wait_seconds",
			Help: "Time spent waiting for the shared rate limiter.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{labelEndpoint}),
	}
	m.Purged = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_purged_records_total",
		Help: "Records whose data of a kind (pictures, errors, ocr, inputs, verdicts) this process's retention purges removed."},
		[]string{"kind"})
	reg.MustRegister(m.Calls, m.Billed, m.CallSeconds, m.LimiterWait, m.Purged)
	for _, ep := range taskqueue.Endpoints {
		m.Billed.WithLabelValues(string(ep))
	}
	m.registerQuota(reg)
	return m
}

// ObservePurged counts n records purged of kind.
func (m *Metrics) ObservePurged(kind string, n int) { m.Purged.WithLabelValues(kind).Add(float64(n)) }

// Verifier wraps v so that every call is counted and timed.
func (m *Metrics) Verifier(v pipeline.Verifier) pipeline.Verifier { return &meteredVerifier{v, m} }

// Limiter wraps l so that waits are timed.
func (m *Metrics) Limiter(l pipeline.Limiter) pipeline.Limiter { return &meteredLimiter{l, m} }

// ObserveTask counts what a task's result says about infrastructure: a
// record sent back to the queue because fetching or preparing its media,
// Postgres or the limiter failed (a *pipeline.RetryLater whose reason is an
// infra.* code) counts under its endpoint and code.
func (m *Metrics) ObserveTask(queue string, err error) {
	r, ok := pipeline.AsRetryLater(err)
	if !ok || !strings.HasPrefix(r.Reason, "infra.") {
		return
	}
	m.Infra.WithLabelValues(string(taskqueue.EndpointOf(queue)), r.Reason).Inc()
}

type meteredVerifier struct {
	pipeline.Verifier
	m *Metrics
}

func (v *meteredVerifier) Verify(ctx context.Context, call pipeline.Call) (*pipeline.Reply, error) {
	start := time.Now()
	reply, err := v.Verifier.Verify(ctx, call)
	ep := string(call.Shape.Endpoint())
	v.m.CallSeconds.WithLabelValues(ep).Observe(time.Since(start).Seconds())
	code, class := "", pipeline.ClassVerdict
	if ce := pipeline.CallErrorOf(err); ce != nil {
		code, class = ce.Code, ce.Class
	} else if reply != nil && reply.Verdict.Code != nil {
		code = strconv.Itoa(*reply.Verdict.Code)
	}
	if class == pipeline.ClassVerdict || class == pipeline.ClassBilledOdd {
		v.m.Billed.WithLabelValues(ep).Inc()
	}
	v.m.Calls.WithLabelValues(ep, code).Inc()
	v.m.observeOutcome(call.Shape.Endpoint(), class)
	return reply, err
}

type meteredLimiter struct {
	pipeline.Limiter
	m *Metrics
}

func (l *meteredLimiter) Wait(ctx context.Context, ep pipeline.Endpoint) error {
	start := time.Now()
	err := l.Limiter.Wait(ctx, ep)
	l.m.LimiterWait.WithLabelValues(string(ep)).Observe(time.Since(start).Seconds())
	if err == nil {
		l.m.Granted.WithLabelValues(string(ep)).Inc()
	}
	return err
}

// MetricsHandler serves /metrics (what g gathers: in a worker its own
// registry, with its Metrics and FleetCollector) and /healthz (Postgres and
// Redis answer); with pprofOn (IVSBATCH_PPROF=1) also /debug/pprof/ (CPU
// profiles for benchmarks). /healthz says which dependency failed, not the driver's
// message.
func MetricsHandler(st *store.Store, rdb redis.UniversalClient, g prometheus.Gatherer, pprofOn bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Pool().Ping(ctx); err != nil {
			http.Error(w, "postgres: not answering", http.StatusServiceUnavailable)
			return
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			http.Error(w, "redis: not answering", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if pprofOn { // profiling for benchmarks (bench/scale); off by default
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	return mux
}
