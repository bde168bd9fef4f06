package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// outcomeClasses are the classes a call is counted under (every series
// exists from the start, so that rate() and the alert rules see zeros).
var outcomeClasses = []ivs.Class{ivs.ClassVerdict, ivs.ClassBilledOdd, ivs.ClassInputError, ivs.ClassTransient,
	ivs.ClassThrottled, ivs.ClassAuthRefresh, ivs.ClassAccountStop, ivs.ClassAmbiguous, ivs.ClassUnknown}

func (m *Metrics) registerQuota(reg prometheus.Registerer) {
	m.Quota = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ivsbatch_quota_requests_per_second",
		Help: "The account's IVS quota per endpoint, as this worker is configured (shared by all workers)."}, []string{labelEndpoint})
	m.Granted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_limiter_granted_total",
		Help: "Calls the shared rate limiter let through, by endpoint (rate() is the tokens granted per second)."}, []string{labelEndpoint})
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
	reg.MustRegister(m.Quota, m.Granted, m.Outcomes, m.PossiblyBilled, m.Recovered, m.RedisLost, m.Infra)
	for _, ep := range Endpoints {
		m.Granted.WithLabelValues(string(ep))
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

// SetQuota publishes the configured quota (requests/s per endpoint).
func (m *Metrics) SetQuota(perSecond float64) {
	for _, ep := range Endpoints {
		m.Quota.WithLabelValues(string(ep)).Set(perSecond)
	}
}

func (m *Metrics) observeOutcome(ep ivs.Endpoint, c ivs.Class) {
	m.Outcomes.WithLabelValues(string(ep), c.String()).Inc()
	if c == ivs.ClassAmbiguous {
		m.PossiblyBilled.WithLabelValues("ambiguous").Inc()
	}
}

// ObserveRecovery counts what a recovery round did.
func (m *Metrics) ObserveRecovery(s RecoverStats) {
	m.Recovered.Add(float64(s.Lost))
	m.PossiblyBilled.WithLabelValues("abandoned").Add(float64(s.AttemptsClosed))
}
