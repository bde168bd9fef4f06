// Package workermain is `worker run` as a program (as wtf's cmd/wtfd):
// a Config of plain values, ParseEnv, Run and Close. cmd/worker, the e2e
// tests and the benchmarks all build the worker here, so what is tested is
// what ships: this is the one place a worker and its processor are
// assembled.
package workermain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/ratelimit"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/webhook"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Main is one worker process: Run connects to Postgres, Redis, object
// storage and IVS and starts serving; Wait blocks until the context given
// to Run ends and in-flight records finished or went back to the queue;
// Close releases what Run opened.
type Main struct {
	Config Config
	Log    *slog.Logger // default slog.Default()
	// Adapt, when set, changes the processor's adapters before the
	// processor is built (tests: a fetcher that fails on purpose, a hook
	// before each send). Production leaves it nil.
	Adapt func(*pipeline.Config)

	st      *store.Store
	rdb     redis.UniversalClient
	srv     *http.Server
	metrics string // the metrics server's URL, once listening
	wg      sync.WaitGroup
	stop    context.CancelFunc
	runErr  error
	// pictures is where kept liveness pictures go (nil: not kept); the
	// purge deletes them there.
	pictures *worker.PictureBucket
}

// NewMain returns a Main with DefaultConfig.
func NewMain() *Main { return &Main{Config: DefaultConfig()} }

// Store is the worker's store (after Run).
func (m *Main) Store() *store.Store { return m.st }

// Redis is the worker's Redis client (after Run).
func (m *Main) Redis() redis.UniversalClient { return m.rdb }

// MetricsURL is the base URL of /metrics and /healthz (after Run; "" when off).
func (m *Main) MetricsURL() string { return m.metrics }

// Run checks the configuration, connects and starts the worker; it returns
// once the worker is serving, or the first error. The worker stops when ctx
// ends (see Wait). Call Close afterwards in every case.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	if err := m.Config.validate(); err != nil {
		return err
	}
	// What Run starts stops with ctx, or at once when Run fails half-way.
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	m.stop = cancel
	c := m.Config.sized()
	m.st, err = store.Open(ctx, c.DatabaseURL, store.WithKeyring(c.Keyring),
		// A call may be on the wire for the IVS timeout: claims and recovery
		// leave a record with a younger attempt in flight alone.
		store.WithCallTimeout(c.IVS.CallTimeout()), store.WithDefaultMaxConns(c.PoolConns))
	if err != nil {
		return err
	}
	// Nothing is sealed under a key other than the database's active one.
	if err := m.st.CheckActiveKey(ctx); err != nil {
		return err
	}
	if m.rdb, err = worker.ConnectRedis(ctx, c.Redis); err != nil {
		return err
	}
	proc, metrics, reg, err := m.processor(ctx)
	if err != nil {
		return err
	}
	w := worker.New(worker.Config{Concurrency: c.Concurrency, TaskTimeout: c.TaskTimeout, ShutdownTimeout: c.ShutdownTimeout,
		Window: c.Window, Queues: c.Queues, Feed: c.Feed, Log: m.Log, Metrics: metrics}, m.rdb, proc, m.st)
	m.serveMetrics(ctx, reg)
	m.scheduleReconcile(ctx)
	m.deliverWebhooks(ctx)
	m.schedulePurge(ctx, metrics)
	m.Log.Info("worker running", "quota", c.Quota, "concurrency", c.Concurrency, "window", c.Window, "queues", c.Queues,
		"db_conns", m.st.Pool().Config().MaxConns)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			m.runErr = err
		}
	}()
	return nil
}

// processor assembles the processor with its adapters: the media fetcher
// (never reading kept pictures), the preparer, the shared limiter gating
// each call, the IVS client and the metrics around them.
func (m *Main) processor(ctx context.Context) (*pipeline.Processor, *worker.Metrics, *prometheus.Registry, error) {
	c := m.Config
	ocfg := c.ObjStore
	config.WarnAnyBucket(m.Log, ocfg)
	if c.KeepPictures != "" { // a kept face is never read back as media
		ocfg.DenyPrefixes = append(append([]string(nil), ocfg.DenyPrefixes...), c.KeepPictures)
	}
	objs, err := objstore.New(ctx, ocfg)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := ivs.New(append(c.IVS.Options(), ivs.WithLogger(m.Log))...)
	if err != nil {
		return nil, nil, nil, err
	}
	// A worker killed while preparing a face video left it in a temporary
	// directory: remove what is older than any live preparation.
	if n, err := media.ClearStaleTemp("", media.StaleTempAge); err != nil {
		m.Log.Warn("clear stale temporary media", "err", err)
	} else if n > 0 {
		m.Log.Info("removed stale temporary media of killed workers", "dirs", n)
	}
	preparer := media.New(c.Media)
	toolCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := preparer.CheckTools(toolCtx); err != nil {
		return nil, nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := worker.NewMetrics(reg)
	metrics.SetQuota(c.Quota)
	// The account pause, kept current by LISTEN/NOTIFY instead of a query per record.
	acct := m.st.WatchAccount(c.AccountRefresh, m.Log)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); _ = acct.Run(ctx) }()
	// The limiter reserves each call's slot in the shared schedule; its gate
	// holds the request until that slot (see package ratelimit).
	limiter := ratelimit.New(m.rdb, ratelimit.Config{PerSecond: c.limiterQuota(), Backoff: c.LimiterBackoff,
		Late: metrics.LateCall})
	pcfg := pipeline.Config{
		Records: m.st, Account: acct, Verifier: limiter.Gate(metrics.Verifier(client)),
		Fetcher: worker.RejectingFetcher{Store: objs}, Preparer: preparer, Limiter: metrics.Limiter(limiter),
		Policy: c.Policy, Log: m.Log,
		Dedup: m.st, Index: c.Keyring, DedupWindow: c.dedupWindow(), DedupWait: c.DedupWait,
		InfraMaxTries: c.InfraMaxTries, InfraMaxAge: c.InfraMaxAge,
		InfraBackoffBase: c.InfraBackoffBase, InfraBackoffMax: c.InfraBackoffMax,
	}
	if c.KeepPictures != "" {
		b := worker.PictureBucket{Store: objs, Prefix: c.KeepPictures, Names: c.Keyring, Seal: c.Keyring}
		m.pictures, pcfg.Pictures = &b, b
	}
	if m.Adapt != nil {
		m.Adapt(&pcfg)
	}
	proc, err := pipeline.NewProcessor(pcfg)
	return proc, metrics, reg, err
}

// serveMetrics serves /metrics and /healthz on MetricsAddr. The fleet-wide
// series come from one scraped process of the fleet (worker.FleetCollector);
// only processes that serve metrics compete. An address that cannot be
// listened on is a warning, as it always was: the worker runs on without
// metrics.
func (m *Main) serveMetrics(ctx context.Context, reg *prometheus.Registry) {
	c := m.Config
	if c.MetricsAddr == "" {
		return
	}
	fleet := worker.NewFleetCollector(m.st, m.rdb, c.TaskTimeout, m.Log)
	fleet.SetRetention(c.Retention)
	reg.MustRegister(fleet)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); fleet.Run(ctx) }()
	ln, err := net.Listen("tcp", c.MetricsAddr)
	if err != nil {
		m.Log.Warn("metrics server (IVSBATCH_METRICS_ADDR, -metrics-addr)", "err", err)
		return
	}
	m.srv = &http.Server{Handler: worker.MetricsHandler(m.st, m.rdb, reg, c.Pprof), ReadHeaderTimeout: 5 * time.Second}
	m.metrics = "http://" + ln.Addr().String()
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Warn("metrics server", "err", err)
		}
	}()
}

// scheduleReconcile runs ops reconcile on the schedule; every worker runs
// this loop and Postgres lets exactly one of them run each slot.
func (m *Main) scheduleReconcile(ctx context.Context) {
	spec, _ := ops.ParseReconcileCron(m.Config.ReconcileCron) // checked by validate
	if spec == nil {
		return
	}
	id := workerID()
	st, rdb, log, taskTimeout := m.st, m.rdb, m.Log, m.Config.TaskTimeout
	s := &ops.Scheduler{Schedule: spec, Store: st, Worker: id, Log: log,
		Run: func(ctx context.Context) (int64, error) {
			sum, err := ops.Reconcile(ctx, st, rdb, ops.ReconcileOptions{TaskTimeout: taskTimeout, Operator: "schedule:" + id})
			if err == nil && sum.NeedsHuman {
				log.Warn("scheduled reconcile: needs a human", "run", sum.RunID, "reasons", sum.Reasons)
			}
			return sum.RunID, err
		}}
	m.wg.Add(1)
	go func() { defer m.wg.Done(); s.Loop(ctx) }()
}

// deliverWebhooks dispatches batch events to the webhook queue and
// delivers them, until ctx ends.
func (m *Main) deliverWebhooks(ctx context.Context) {
	s := webhook.NewServer(m.rdb, m.st, m.Config.Webhooks, m.Log)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := s.Run(ctx); err != nil {
			m.Log.Error("webhook deliveries stopped", "err", err)
		}
	}()
}

// schedulePurge runs the retention purge on PurgeCron in short chunks;
// every worker runs this loop and Postgres lets one of them run each slot.
func (m *Main) schedulePurge(ctx context.Context, metrics *worker.Metrics) {
	spec, _ := ops.ParsePurgeCron(m.Config.PurgeCron) // checked by validate
	if spec == nil {
		return
	}
	var pictures ops.PictureDeleter
	if m.pictures != nil {
		pictures = *m.pictures
	}
	s := ops.PurgeScheduler(spec, m.st, workerID(), ops.PurgeOptions{Policy: m.Config.Retention, Pictures: pictures,
		Log: m.Log, Pause: 10 * time.Millisecond,
		Observe: func(k retention.Kind, n int) { metrics.ObservePurged(string(k), n) }})
	m.wg.Add(1)
	go func() { defer m.wg.Done(); s.Loop(ctx) }()
}

// workerID names this process in the schedules' slots: host and pid.
func workerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// Wait blocks until the worker stopped (the context given to Run ended and
// in-flight records finished or went back to the queue) and returns why it
// stopped early, if it did.
func (m *Main) Wait() error {
	m.wg.Wait()
	return m.runErr
}

// Close waits for the worker to stop and releases the metrics server and
// the connections. It is safe after a failed Run.
func (m *Main) Close() error {
	err := m.Wait()
	if m.stop != nil {
		m.stop()
	}
	if m.srv != nil {
		_ = m.srv.Close()
	}
	if m.rdb != nil {
		_ = m.rdb.Close()
	}
	if m.st != nil {
		m.st.Close()
	}
	return err
}
