package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/recovery"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// outcomeClasses are the classes a call is counted under (every series
// exists from the start, so that rate() and the alert rules see zeros).
var outcomeClasses = []pipeline.Class{pipeline.ClassVerdict, pipeline.ClassBilledOdd, pipeline.ClassInputError, pipeline.ClassTransient,
	pipeline.ClassThrottled, pipeline.ClassAuthRefresh, pipeline.ClassAccountStop, pipeline.ClassAmbiguous, pipeline.ClassUnknown}

func (m *Metrics) registerQuota(reg prometheus.Registerer) {
	m.Quota = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ivsbatch_quota_requests_per_second",
		Help: "The account's IVS quota per endpoint, as this worker is configured (shared by all workers)."}, []string{labelEndpoint})
	m.Granted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_limiter_granted_total",
		Help: "Calls the shared rate limiter let through, by endpoint (rate() is the tokens granted per second)."}, []string{labelEndpoint})
	m.LateCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_limiter_late_calls_total",
		Help: "Calls that reached their send slot more than the limiter's MaxLate after it (a stalled process, slow work before the send) and took a fresh slot, by endpoint: each left a slot of the quota unused."}, []string{labelEndpoint})
	m.Outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_ivs_call_outcomes_total",
		Help: "IVS calls by endpoint and outcome class (verdict, throttled, transient, ambiguous …)."}, []string{labelEndpoint, labelClass})
	m.PossiblyBilled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_possibly_billed_attempts_total",
		Help: "Attempts marked possibly billed by this worker: ambiguous (timed out after sending), abandoned (a dead worker's call)."}, []string{"reason"})
	m.Recovered = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivsbatch_lost_records_recovered_total",
		Help: "Records lost-task recovery handed back to the queue (task lost with Redis, or worker died)."})
	m.RedisLost = prometheus.NewCounter(prometheus.CounterOpts{Name: "ivsbatch_redis_data_lost_total",
		Help: "Times this worker's feeder found that Redis had lost its data."})
	m.Infra = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_infra_failures_total",
		Help: "Records sent back to the queue by infrastructure trouble, by endpoint and code: infra.fetch (media store), infra.prepare (media tools), infra.store (Postgres), infra.limiter (Redis)."},
		[]string{labelEndpoint, labelCode})
	reg.MustRegister(m.Quota, m.Granted, m.LateCalls, m.Outcomes, m.PossiblyBilled, m.Recovered, m.RedisLost, m.Infra)
	for _, ep := range taskqueue.Endpoints {
		m.Granted.WithLabelValues(string(ep))
		m.LateCalls.WithLabelValues(string(ep))
		for _, c := range outcomeClasses {
			m.Outcomes.WithLabelValues(string(ep), c.String())
		}
		for _, code := range infraCodes {
			m.Infra.WithLabelValues(string(ep), code)
		}
	}
	m.PossiblyBilled.WithLabelValues("ambiguous")
	m.PossiblyBilled.WithLabelValues("abandoned")
}

// infraCodes are the infrastructure codes a record can be sent back with
// (every series exists from the start, so that rate() sees zeros).
var infraCodes = []string{pipeline.CodeInfraFetch, pipeline.CodeInfraPrepare, pipeline.CodeInfraStore, pipeline.CodeInfraLimiter}

// LateCall counts a call that took a fresh slot because it came to its own
// too late (ratelimit.Config.Late).
func (m *Metrics) LateCall(ep pipeline.Endpoint) { m.LateCalls.WithLabelValues(string(ep)).Inc() }

// SetQuota publishes the configured quota (requests/s per endpoint).
func (m *Metrics) SetQuota(perSecond float64) {
	for _, ep := range taskqueue.Endpoints {
		m.Quota.WithLabelValues(string(ep)).Set(perSecond)
	}
}

func (m *Metrics) observeOutcome(ep pipeline.Endpoint, c pipeline.Class) {
	m.Outcomes.WithLabelValues(string(ep), c.String()).Inc()
	if c == pipeline.ClassAmbiguous {
		m.PossiblyBilled.WithLabelValues("ambiguous").Inc()
	}
}

// ObserveRecovery counts what a recovery round did.
func (m *Metrics) ObserveRecovery(s recovery.Stats) {
	m.Recovered.Add(float64(s.Lost))
	m.PossiblyBilled.WithLabelValues("abandoned").Add(float64(s.AttemptsClosed))
}
