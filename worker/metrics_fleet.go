package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// FleetCollector exports the state of the whole fleet, read from Postgres
// and Redis at scrape time: records by status, the account pause, the queue
// depth per endpoint, the latest and the open batches (records by status,
// budget), records in flight too long, the latest reconcile run and the
// oldest open record. Every worker registers one, but only the process
// holding the fleet lease (a Postgres advisory lock, taken at scrape time by
// a process that is scraped) exports these series, so a sum() over the fleet
// counts each record once. Every process exports ivsbatch_fleet_exporter: 1
// on the elected one, 0 elsewhere.
type FleetCollector struct {
	st          *store.Store
	inspector   *asynq.Inspector
	taskTimeout time.Duration
	log         *slog.Logger
	lease       *fleetLease
	queues      queueCache
	batches     int // the latest batches exported besides the open ones

	errors       *prometheus.CounterVec // scrape errors by source, so a failing read is visible
	exporter     *prometheus.Desc
	records      *prometheus.Desc
	paused       *prometheus.Desc
	queue        *prometheus.Desc
	batchRecords *prometheus.Desc
	budgetMax    *prometheus.Desc
	budgetUsed   *prometheus.Desc
	stuck        *prometheus.Desc
	human        *prometheus.Desc
	lastRun      *prometheus.Desc
	oldestOpen   *prometheus.Desc

	retention      retention.Policy // SetRetention
	overdue        *prometheus.Desc
	purgeLastRun   *prometheus.Desc
	purgeCompleted *prometheus.Desc
}

// SetRetention sets the retention policy the overdue series are measured
// against (default retention.Default()); call it before registering.
func (c *FleetCollector) SetRetention(p retention.Policy) { c.retention = p }

// fleetLockKey is the advisory lock of the fleet lease ("ivsbflee").
const fleetLockKey int64 = 0x69767362666c6565

// fleetIdleAfter is how long an elected process keeps the lease without
// being scraped: after that it lets go, so that a process Prometheus no
// longer scrapes does not hold the fleet's gauges hostage.
const fleetIdleAfter = 2 * time.Minute

// NewFleetCollector returns the collector; taskTimeout is the workers' (a
// record in flight longer is "too long"). Run keeps its lease healthy.
func NewFleetCollector(st *store.Store, rdb redis.UniversalClient, taskTimeout time.Duration, log *slog.Logger) *FleetCollector {
	if log == nil {
		log = slog.Default()
	}
	return &FleetCollector{st: st, inspector: asynq.NewInspectorFromRedisClient(rdb), taskTimeout: taskTimeout, log: log,
		lease: &fleetLease{pool: st.Pool()}, batches: 10,
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ivsbatch_metrics_scrape_errors_total",
			Help: "Errors reading the fleet's state for /metrics, by source (lease, records, account_state, batches, …)."}, []string{"source"}),
		exporter: prometheus.NewDesc("ivsbatch_fleet_exporter",
			"1 on the one worker that exports the fleet-wide series (it holds the fleet lease), 0 on the others.", nil, nil),
		records: prometheus.NewDesc("ivsbatch_records", "Records by status, all batches.", []string{"status"}, nil),
		paused:  prometheus.NewDesc("ivsbatch_account_paused", "1 when all IVS traffic is paused.", nil, nil),
		queue: prometheus.NewDesc("ivsbatch_queue_tasks", "Tasks in each endpoint's asynq queue by state (pending, active, scheduled, retry, archived).",
			[]string{labelEndpoint, "state"}, nil),
		batchRecords: prometheus.NewDesc("ivsbatch_batch_records", "Records by batch and status (every batch with open records, and the latest 10).",
			[]string{"batch", "status"}, nil),
		budgetMax: prometheus.NewDesc("ivsbatch_batch_budget_max_billed", "A batch's cap on billed calls (0: no cap; the latest 10 batches).",
			[]string{"batch"}, nil),
		budgetUsed: prometheus.NewDesc("ivsbatch_batch_budget_used", "Call slots of a batch's budget in use (billed, possibly billed, on the wire).",
			[]string{"batch"}, nil),
		stuck: prometheus.NewDesc("ivsbatch_records_in_flight_too_long", "Records in flight, unchanged for longer than the task timeout.",
			nil, nil),
		human: prometheus.NewDesc("ivsbatch_reconcile_needs_human", "1 when the latest reconcile run needs a human (see its summary).",
			nil, nil),
		lastRun: prometheus.NewDesc("ivsbatch_reconcile_last_run_timestamp_seconds", "When the latest reconcile run started (absent: none yet).",
			nil, nil),
		oldestOpen: prometheus.NewDesc("ivsbatch_oldest_open_record_timestamp_seconds",
			"When the oldest record still open (pending, queued or in flight) was submitted: its batch's creation (absent: nothing open).",
			[]string{"batch"}, nil),
		retention: retention.Default(),
		overdue: prometheus.NewDesc("ivsbatch_retention_overdue_seconds",
			"How long the oldest data of a kind (pictures, errors, ocr, inputs, verdicts) has been kept past its retention (0: none).",
			[]string{"kind"}, nil),
		purgeLastRun: prometheus.NewDesc("ivsbatch_purge_last_run_timestamp_seconds", "When the latest retention purge run started (absent: none yet).",
			nil, nil),
		purgeCompleted: prometheus.NewDesc("ivsbatch_purge_last_run_complete", "1 when the latest retention purge run completed, 0 when it stopped on an error.",
			nil, nil),
	}
}

// Run keeps the lease healthy until ctx ends, then lets it go: every few
// seconds the elected process checks its session (a lost one is given up)
// and gives the lease up when it has not been scraped for fleetIdleAfter.
// Processes that are not elected do nothing here: they compete at scrape.
func (c *FleetCollector) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	defer c.lease.release()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.lease.tend(ctx, fleetIdleAfter)
		}
	}
}

// Describe implements prometheus.Collector.
func (c *FleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.exporter, c.records, c.paused, c.queue, c.batchRecords, c.budgetMax,
		c.budgetUsed, c.stuck, c.human, c.lastRun, c.oldestOpen, c.overdue, c.purgeLastRun, c.purgeCompleted} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *FleetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	elected, err := c.lease.hold(ctx)
	if err != nil {
		c.failed("lease", err)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if !elected {
		gauge(c.exporter, 0)
		c.errors.Collect(ch)
		return
	}
	gauge(c.exporter, 1)
	c.collectFleet(ctx, gauge)
	c.errors.Collect(ch) // after the reads, so this scrape's errors are in it
}

func (c *FleetCollector) collectFleet(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) {
	if counts, err := c.st.StatusCounts(ctx); err != nil {
		c.failed("records", err)
	} else {
		for st, n := range counts {
			gauge(c.records, float64(n), string(st))
		}
	}
	if _, _, paused, err := c.st.Paused(ctx); err != nil {
		c.failed("account_state", err)
	} else {
		gauge(c.paused, b2f(paused))
	}
	for q, depth := range c.queues.get(c.inspector) {
		for state, n := range depth {
			gauge(c.queue, float64(n), string(taskqueue.EndpointOf(q)), state)
		}
	}
	c.collectBatches(ctx, gauge)
	if n, err := c.st.InFlightSince(ctx, time.Now().Add(-c.taskTimeout)); err != nil {
		c.failed("in_flight", err)
	} else {
		gauge(c.stuck, float64(n))
	}
	if at, human, ok, err := c.st.LatestReconcile(ctx); err != nil {
		c.failed("reconcile", err)
	} else if ok {
		gauge(c.human, b2f(human))
		gauge(c.lastRun, float64(at.Unix()))
	}
	c.collectRetention(ctx, gauge)
}

// collectRetention exports how far each kind's data is past its retention
// (one index look-up per kind after its purge mark) and the latest purge run.
func (c *FleetCollector) collectRetention(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) {
	now := time.Now()
	for _, k := range retention.Kinds {
		cutoff := c.retention.Cutoff(k, now)
		if cutoff.IsZero() {
			gauge(c.overdue, 0, string(k))
			continue
		}
		oldest, err := c.st.OldestUnpurged(ctx, k, cutoff)
		if err != nil {
			c.failed("retention", err)
			return
		}
		overdue := 0.0
		if !oldest.IsZero() {
			overdue = cutoff.Sub(oldest).Seconds()
		}
		gauge(c.overdue, overdue, string(k))
	}
	if run, ok, err := c.st.LatestPurge(ctx); err != nil {
		c.failed("purge", err)
	} else if ok {
		gauge(c.purgeLastRun, float64(run.StartedAt.Unix()))
		gauge(c.purgeCompleted, b2f(run.Complete))
	}
}

// collectBatches exports records by status for every open batch and the
// latest ones, the budget of the latest ones, and when the oldest open
// record was submitted (the oldest open batch's creation: a batch's records
// are stored in one transaction).
func (c *FleetCollector) collectBatches(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) {
	open, err := c.st.OpenBatches(ctx) // oldest first
	if err != nil {
		c.failed("batches", err)
		return
	}
	recent, err := c.st.RecentBatches(ctx, c.batches)
	if err != nil {
		c.failed("batches", err)
		return
	}
	ids := make([]int64, 0, len(open)+len(recent))
	for _, b := range open {
		ids = append(ids, b.BatchID)
	}
	for _, b := range recent {
		ids = append(ids, b.BatchID)
		id := strconv.FormatInt(b.BatchID, 10)
		gauge(c.budgetMax, float64(b.MaxBilled), id)
		gauge(c.budgetUsed, float64(b.Used), id)
	}
	slices.Sort(ids)
	statuses := append(slices.Clone(pipeline.OpenStatuses), pipeline.TerminalStatuses...)
	for _, bid := range slices.Compact(ids) {
		counts, err := c.st.BatchCounts(ctx, bid)
		if err != nil {
			c.failed("batches", err)
			continue
		}
		id := strconv.FormatInt(bid, 10)
		for _, st := range statuses {
			gauge(c.batchRecords, float64(counts.ByStatus[st]), id, string(st))
		}
	}
	if len(open) > 0 {
		b, err := c.st.GetBatch(ctx, open[0].BatchID)
		if err != nil {
			c.failed("batches", err)
			return
		}
		gauge(c.oldestOpen, float64(b.CreatedAt.Unix()), strconv.FormatInt(b.ID, 10))
	}
}

// failed logs a scrape error and counts it.
func (c *FleetCollector) failed(source string, err error) {
	c.log.Warn("metrics scrape", "source", source, "err", err)
	c.errors.WithLabelValues(source).Inc()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// fleetLease is a session-level Postgres advisory lock held on a connection
// taken out of the pool (hijacked, so that the lock never goes back to the
// pool with it). Closing the session, or the session dying, releases it.
type fleetLease struct {
	pool *pgxpool.Pool

	mu         sync.Mutex
	conn       *pgx.Conn // the session holding the lock; nil when not held
	lastScrape time.Time
}

// hold reports whether this process holds the lease, checking a held one's
// session and trying to take a free one.
func (l *fleetLease) hold(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastScrape = time.Now()
	if l.conn != nil {
		if err := l.conn.Ping(ctx); err == nil {
			return true, nil
		}
		l.dropLocked() // the session is gone or unusable: so is the lock
	}
	pc, err := l.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var got bool
	if err := pc.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", fleetLockKey).Scan(&got); err != nil {
		pc.Release()
		return false, err
	}
	if !got {
		pc.Release() // this session holds nothing: back to the pool
		return false, nil
	}
	l.conn = pc.Hijack()
	// A host that vanishes leaves its session open until Postgres notices:
	// the lease session, pinged every 10 s, ends itself after a minute idle
	// (Postgres 14 and later; older servers refuse the setting, harmlessly).
	if _, err := l.conn.Exec(ctx, "SET idle_session_timeout = '60s'"); err != nil && !isUndefinedParameter(err) {
		l.dropLocked()
		return false, err
	}
	return true, nil
}

// tend pings a held lease's session (so it is not idle) and gives the lease
// up when it was not scraped for idle or its session failed.
func (l *fleetLease) tend(ctx context.Context, idle time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	if time.Since(l.lastScrape) > idle {
		l.dropLocked()
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.conn.Ping(pctx); err != nil {
		l.dropLocked()
	}
}

// release gives the lease up (closing its session).
func (l *fleetLease) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked()
}

func (l *fleetLease) dropLocked() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
	l.conn = nil
}

// isUndefinedParameter reports Postgres's "unrecognized configuration
// parameter" (SQLSTATE 42704) for servers before idle_session_timeout.
func isUndefinedParameter(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == "42704"
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
