package worker

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// Metrics are the worker's Prometheus instruments.
type Metrics struct {
	Calls       *prometheus.CounterVec // by endpoint and code
	Billed      prometheus.Counter
	CallSeconds *prometheus.HistogramVec
	LimiterWait *prometheus.HistogramVec

	// The quota story (alert rules in deploy/prometheus/): the quota, what
	// the limiter granted, what the calls came back as, possibly billed
	// attempts, and lost-task recovery.
	Quota          *prometheus.GaugeVec   // by endpoint and queue: the configured quota (requests/s)
	Granted        *prometheus.CounterVec // by queue: calls the shared limiter let through
	Outcomes       *prometheus.CounterVec // by queue and class (verdict, throttled, transient …)
	PossiblyBilled *prometheus.CounterVec // by reason: ambiguous (timed out on the wire), abandoned (worker died)
	Recovered      prometheus.Counter     // records handed back to the queue by lost-task recovery
	RedisLost      prometheus.Counter     // times a feeder found that Redis had lost its data
}

// NewMetrics registers the worker's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_ivs_calls_total",
			Help: "IVS calls by endpoint and outcome code (verification code or error code)."}, []string{"endpoint", "code"}),
		Billed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ivsbatch_ivs_billed_calls_total",
			Help: "IVS calls answered 200 (billed)."}),
		CallSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ivsbatch_ivs_call_seconds",
			Help: "IVS call latency.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"endpoint"}),
		LimiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ivsbatch_limiter_wait_seconds",
			Help: "Time spent waiting for the shared rate limiter.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"endpoint"}),
	}
	reg.MustRegister(m.Calls, m.Billed, m.CallSeconds, m.LimiterWait)
	m.registerQuota(reg)
	return m
}

// Verifier wraps v so that every call is counted and timed.
func (m *Metrics) Verifier(v pipeline.Verifier) pipeline.Verifier { return &meteredVerifier{v, m} }

// Limiter wraps l so that waits are timed.
func (m *Metrics) Limiter(l pipeline.Limiter) pipeline.Limiter { return &meteredLimiter{l, m} }

type meteredVerifier struct {
	pipeline.Verifier
	m *Metrics
}

func (v *meteredVerifier) Do(ctx context.Context, req ivs.Request) (*ivs.Response, error) {
	start := time.Now()
	resp, err := v.Verifier.Do(ctx, req)
	ep := string(req.Shape.Endpoint())
	v.m.CallSeconds.WithLabelValues(ep).Observe(time.Since(start).Seconds())
	code := ivs.ErrorCode(err)
	if err == nil && resp != nil {
		code = strconv.Itoa(resp.Result.VerificationCode)
		v.m.Billed.Inc()
	} else if ivs.Classify(err) == ivs.ClassBilledOdd {
		v.m.Billed.Inc()
	}
	v.m.Calls.WithLabelValues(ep, code).Inc()
	v.m.observeOutcome(req.Shape.Endpoint(), ivs.Classify(err))
	return resp, err
}

type meteredLimiter struct {
	pipeline.Limiter
	m *Metrics
}

func (l *meteredLimiter) Wait(ctx context.Context, ep ivs.Endpoint) error {
	start := time.Now()
	err := l.Limiter.Wait(ctx, ep)
	l.m.LimiterWait.WithLabelValues(string(ep)).Observe(time.Since(start).Seconds())
	if err == nil {
		l.m.Granted.WithLabelValues(taskqueue.QueueOf(ep)).Inc()
	}
	return err
}

// stateCollector reports records by status (from Postgres) and the queue
// depth (from asynq) at scrape time.
type stateCollector struct {
	st        *store.Store
	inspector *asynq.Inspector
	records   *prometheus.Desc
	queue     *prometheus.Desc
	paused    *prometheus.Desc
	errors    *prometheus.CounterVec // scrape errors by source, so a failing read is visible
	queues    queueCache
}

// failed logs a scrape error and counts it.
func (c *stateCollector) failed(source string, err error) {
	slog.Warn("metrics scrape", "source", source, "err", err)
	c.errors.WithLabelValues(source).Inc()
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.records
	ch <- c.queue
	ch <- c.paused
	c.errors.Describe(ch)
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if counts, err := c.st.StatusCounts(ctx); err != nil {
		c.failed("records", err)
	} else {
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(n), string(st))
		}
	}
	if _, _, paused, err := c.st.Paused(ctx); err != nil {
		c.failed("account_state", err)
	} else {
		v := 0.0
		if paused {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, v)
	}
	for q, depth := range c.queues.get(c.inspector) {
		for state, n := range depth {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), q, state)
		}
	}
	c.errors.Collect(ch) // after the reads, so this scrape's errors are in it
}

// queueCache holds the queue depths for scrapes. asynq's queue info runs a
// script over each queue in Redis (tens of ms under load), so a scrape serves
// depths at most queueMaxAge old and refreshes them in the background; only
// the first scrape waits.
type queueCache struct {
	mu         sync.Mutex
	at         time.Time
	depths     map[string]map[string]int // queue → state → tasks
	refreshing bool
}

const queueMaxAge = 5 * time.Second

func (c *queueCache) get(insp *asynq.Inspector) map[string]map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.depths == nil {
		c.depths, c.at = queueDepths(insp), time.Now()
	} else if time.Since(c.at) > queueMaxAge && !c.refreshing {
		c.refreshing = true
		go func() {
			d := queueDepths(insp)
			c.mu.Lock()
			c.depths, c.at, c.refreshing = d, time.Now(), false
			c.mu.Unlock()
		}()
	}
	return c.depths
}

func queueDepths(insp *asynq.Inspector) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, q := range taskqueue.Queues {
		info, err := insp.GetQueueInfo(q)
		if err != nil {
			continue // not created yet
		}
		out[q] = map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived}
	}
	return out
}

// MetricsHandler serves /metrics (the default registry plus records by
// status, queue depth and the pause flag) and /healthz (Postgres and Redis
// answer); with IVSBATCH_PPROF=1 also /debug/pprof/ (CPU profiles for
// benchmarks).
func MetricsHandler(st *store.Store, rdb redis.UniversalClient) http.Handler {
	reg := prometheus.NewRegistry()
	scrapeErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_metrics_scrape_errors_total",
		Help: "Errors reading state for /metrics (records, account_state), by source."}, []string{"source"})
	reg.MustRegister(&stateCollector{st: st, inspector: asynq.NewInspectorFromRedisClient(rdb), errors: scrapeErrors,
		records: prometheus.NewDesc("ivsbatch_records", "Records by status.", []string{"status"}, nil),
		queue:   prometheus.NewDesc("ivsbatch_queue_tasks", "Tasks in the asynq queues by queue and state.", []string{"queue", "state"}, nil),
		paused:  prometheus.NewDesc("ivsbatch_account_paused", "1 when all IVS traffic is paused.", nil, nil)})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, reg}, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Pool().Ping(ctx); err != nil {
			http.Error(w, "postgres: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if os.Getenv("IVSBATCH_PPROF") == "1" { // profiling for benchmarks (bench/scale); off by default
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	return mux
}
