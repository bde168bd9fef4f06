package worker

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/recovery"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// outcomeClasses are the classes a call is counted under (every series
// exists from the start, so that rate() and the alert rules see zeros).
var outcomeClasses = []ivs.Class{ivs.ClassVerdict, ivs.ClassBilledOdd, ivs.ClassInputError, ivs.ClassTransient,
	ivs.ClassThrottled, ivs.ClassAuthRefresh, ivs.ClassAccountStop, ivs.ClassAmbiguous, ivs.ClassUnknown}

func (m *Metrics) registerQuota(reg prometheus.Registerer) {
	m.Quota = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ivsbatch_quota_requests_per_second",
		Help: "The account's IVS quota per endpoint, as this worker is configured (shared by all workers)."}, []string{"endpoint", "queue"})
	m.Granted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_limiter_granted_total",
		Help: "Calls the shared rate limiter let through, by queue (rate() is the tokens granted per second)."}, []string{"queue"})
	m.Outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_ivs_call_outcomes_total",
		Help: "IVS calls by queue and outcome class (verdict, throttled, transient, ambiguous …)."}, []string{"queue", "class"})
	m.PossiblyBilled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_possibly_billed_attempts_total",
		Help: "Attempts marked possibly billed by this worker: ambiguous (timed out after sending), abandoned (a dead worker's call)."}, []string{"reason"})
	m.Recovered = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivsbatch_lost_records_recovered_total",
		Help: "Records lost-task recovery handed back to the queue (task lost with Redis, or worker died)."})
	m.RedisLost = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivsbatch_redis_data_lost_total",
		Help: "Times this worker's feeder found that Redis had lost its data."})
	reg.MustRegister(m.Quota, m.Granted, m.Outcomes, m.PossiblyBilled, m.Recovered, m.RedisLost)
	for _, q := range taskqueue.Queues {
		m.Granted.WithLabelValues(q)
		for _, c := range outcomeClasses {
			m.Outcomes.WithLabelValues(q, c.String())
		}
	}
	m.PossiblyBilled.WithLabelValues("ambiguous")
	m.PossiblyBilled.WithLabelValues("abandoned")
}

// SetQuota publishes the configured quota (requests/s per endpoint).
func (m *Metrics) SetQuota(perSecond float64) {
	for i, ep := range taskqueue.Endpoints {
		m.Quota.WithLabelValues(string(ep), taskqueue.Queues[i]).Set(perSecond)
	}
}

func (m *Metrics) observeOutcome(ep ivs.Endpoint, c ivs.Class) {
	m.Outcomes.WithLabelValues(taskqueue.QueueOf(ep), c.String()).Inc()
	if c == ivs.ClassAmbiguous {
		m.PossiblyBilled.WithLabelValues("ambiguous").Inc()
	}
}

// ObserveRecovery counts what a recovery round did.
func (m *Metrics) ObserveRecovery(s recovery.Stats) {
	m.Recovered.Add(float64(s.Lost))
	m.PossiblyBilled.WithLabelValues("abandoned").Add(float64(s.AttemptsClosed))
}

// StoreCollector reports, at scrape time and from cheap Postgres queries:
// records by status and the budget of the latest batches, records in flight
// longer than the task timeout, and what the latest reconcile run found.
type StoreCollector struct {
	st          *store.Store
	taskTimeout time.Duration
	batches     int
	records     *prometheus.Desc
	budgetMax   *prometheus.Desc
	budgetUsed  *prometheus.Desc
	stuck       *prometheus.Desc
	human       *prometheus.Desc
	lastRun     *prometheus.Desc
}

// NewStoreCollector returns the collector; taskTimeout is the workers'.
func NewStoreCollector(st *store.Store, taskTimeout time.Duration) *StoreCollector {
	return &StoreCollector{st: st, taskTimeout: taskTimeout, batches: 10,
		records: prometheus.NewDesc("ivsbatch_batch_records", "Records by batch and status (the latest 10 batches).",
			[]string{"batch", "status"}, nil),
		budgetMax: prometheus.NewDesc("ivsbatch_batch_budget_max_billed", "A batch's cap on billed calls (0: no cap).",
			[]string{"batch"}, nil),
		budgetUsed: prometheus.NewDesc("ivsbatch_batch_budget_used", "Call slots of a batch's budget in use (billed, possibly billed, on the wire).",
			[]string{"batch"}, nil),
		stuck: prometheus.NewDesc("ivsbatch_records_in_flight_too_long", "Records in flight, unchanged for longer than the task timeout.",
			nil, nil),
		human: prometheus.NewDesc("ivsbatch_reconcile_needs_human", "1 when the latest reconcile run needs a human (see its summary).",
			nil, nil),
		lastRun: prometheus.NewDesc("ivsbatch_reconcile_last_run_timestamp_seconds", "When the latest reconcile run started.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.records, c.budgetMax, c.budgetUsed, c.stuck, c.human, c.lastRun} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if batches, err := c.st.RecentBatches(ctx, c.batches); err == nil {
		for _, b := range batches {
			id := strconv.FormatInt(b.BatchID, 10)
			ch <- prometheus.MustNewConstMetric(c.budgetMax, prometheus.GaugeValue, float64(b.MaxBilled), id)
			ch <- prometheus.MustNewConstMetric(c.budgetUsed, prometheus.GaugeValue, float64(b.Used), id)
			counts, err := c.st.BatchCounts(ctx, b.BatchID)
			if err != nil {
				continue
			}
			for _, st := range append(append([]pipeline.Status{}, pipeline.OpenStatuses...), pipeline.TerminalStatuses...) {
				ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(counts.ByStatus[st]), id, string(st))
			}
		}
	}
	if n, err := c.st.InFlightSince(ctx, time.Now().Add(-c.taskTimeout)); err == nil {
		ch <- prometheus.MustNewConstMetric(c.stuck, prometheus.GaugeValue, float64(n))
	}
	if at, human, ok, err := c.st.LatestReconcile(ctx); err == nil && ok {
		v := 0.0
		if human {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.human, prometheus.GaugeValue, v)
		ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, float64(at.Unix()))
	}
}
