package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/ratelimit"
	"github.com/ivsbatch/ivsbatch/retention"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

func run(ctx context.Context, log *slog.Logger, args []string) error {
	env, err := readRunEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs := cli.NewFlags("worker run", "[flags]", runAbout)
	concurrency := fs.Int("concurrency", env.concurrency, "records handled at once (≈ quota × call latency in seconds, with margin)")
	quota := fs.Float64("quota", env.quota, "the account's IVS quota in requests/s per endpoint, shared by all worker processes; ≤ 0 disables limiting")
	window := fs.Int("window", env.window, "tasks the feeder keeps waiting in each Redis queue, ahead of those the handlers run")
	feed := fs.Bool("feed", true, "run the feeder (Postgres → queue) in this process")
	queues := fs.String("queues", env.queues, "the queues this process serves and feeds, comma-separated: "+strings.Join(taskqueue.Queues, ","))
	taskTimeout := fs.Duration("task-timeout", worker.DefaultTaskTimeout, "upper bound for one record's task")
	shutdown := fs.Duration("shutdown-timeout", 45*time.Second, "time in-flight records get to finish on SIGTERM (longer than IVS_TIMEOUT)")
	metricsAddr := fs.String("metrics-addr", env.metricsAddr, "address for /metrics and /healthz; empty to disable")
	if err := parseRunFlags(fs, args); err != nil {
		return err
	}
	queueList, _ := worker.ParseQueues(*queues) // checked by parseRunFlags

	// A call may be on the wire for IVS_TIMEOUT: claims and recovery leave
	// a record with a younger attempt in flight alone.
	callTimeout, err := envconf.PositiveDuration(os.Getenv, "IVS_TIMEOUT", ivs.DefaultTimeout)
	if err != nil {
		return err
	}
	purgeCron, err := ops.ParsePurgeCron(os.Getenv("IVSBATCH_PURGE_CRON"))
	if err != nil {
		return err
	}
	retain, err := ops.RetentionFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	st, err := store.OpenFromEnv(ctx, store.WithCallTimeout(callTimeout),
		store.WithDefaultMaxConns(DefaultPoolConns))
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Keyring() == nil {
		return fmt.Errorf("no keys for personal data: set IVSBATCH_PII_KEYS (or _FILE) and IVSBATCH_PII_INDEX_KEY (see README)")
	}
	if err := st.CheckActiveKey(ctx); err != nil {
		return err
	}
	rdb, err := worker.ConnectRedisFromEnv(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	ocfg := objstore.ConfigFromEnv(os.Getenv)
	if env.keepPictures != "" { // a kept face is never read back as media
		ocfg.DenyPrefixes = append(ocfg.DenyPrefixes, env.keepPictures)
	}
	objs, err := objstore.New(ctx, ocfg)
	if err != nil {
		return err
	}
	ivsOpts, err := ivs.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	client, err := ivs.New(append(ivsOpts, ivs.WithLogger(log))...)
	if err != nil {
		return err
	}
	policy, err := pipeline.PolicyFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	preparer, err := newPreparer()
	if err != nil {
		return err
	}
	// A worker killed while preparing a face video left it in a temporary
	// directory: remove what is older than any live preparation.
	if n, err := media.ClearStaleTemp("", media.StaleTempAge); err != nil {
		log.Warn("clear stale temporary media", "err", err)
	} else if n > 0 {
		log.Info("removed stale temporary media of killed workers", "dirs", n)
	}
	metrics := worker.NewMetrics(prometheus.DefaultRegisterer)
	metrics.SetQuota(*quota)
	reconcileCron, err := ops.ParseReconcileCron(os.Getenv("IVSBATCH_RECONCILE_CRON"))
	if err != nil {
		return err
	}
	// The account pause, kept current by LISTEN/NOTIFY instead of a query per record.
	acct := st.WatchAccount(5*time.Second, log)
	go func() { _ = acct.Run(ctx) }()
	// The limiter reserves each call's slot in the shared schedule; its gate
	// holds the request until that slot (see package ratelimit).
	limiter := ratelimit.New(rdb, ratelimit.Config{PerSecond: limiterQuota(*quota)})
	pcfg := pipeline.Config{
		Records: st, Account: acct, Verifier: limiter.Gate(metrics.Verifier(client)),
		Fetcher:  worker.RejectingFetcher{Store: objs},
		Preparer: preparer,
		Limiter:  metrics.Limiter(limiter),
		Policy:   policy, Log: log,
		Dedup: st, Index: st.Keyring(), DedupWindow: env.dedupWindow,
	}
	var pictures ops.PictureDeleter
	if prefix := env.keepPictures; prefix != "" {
		bucket := worker.PictureBucket{Store: objs, Prefix: prefix, Names: st.Keyring(), Seal: st.Keyring()}
		pcfg.Pictures, pictures = bucket, bucket
	}
	if err := infraFromEnv(&pcfg); err != nil {
		return err
	}
	proc, err := pipeline.NewProcessor(pcfg)
	if err != nil {
		return err
	}
	w := worker.New(worker.Config{Concurrency: *concurrency, TaskTimeout: *taskTimeout, ShutdownTimeout: *shutdown,
		Window: *window, Queues: queueList, Feed: *feed, Log: log, Metrics: metrics}, rdb, proc, st)
	if reconcileCron != nil {
		go scheduleReconcile(ctx, log, reconcileCron, st, rdb, *taskTimeout)
	}
	if purgeCron != nil {
		go ops.PurgeScheduler(purgeCron, st, workerID(), ops.PurgeOptions{Policy: retain, Pictures: pictures, Log: log,
			Pause: 10 * time.Millisecond, Observe: func(k retention.Kind, n int) { metrics.ObservePurged(string(k), n) }}).Loop(ctx)
	}
	if *metricsAddr != "" {
		// The fleet-wide series come from one scraped process of the fleet
		// (worker.FleetCollector); only processes that serve metrics compete.
		fleet := worker.NewFleetCollector(st, rdb, *taskTimeout, log)
		fleet.SetRetention(retain)
		prometheus.MustRegister(fleet)
		go fleet.Run(ctx)
		srv := &http.Server{Addr: *metricsAddr, Handler: worker.MetricsHandler(st, rdb, prometheus.DefaultGatherer),
			ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Warn("metrics server", "err", err)
			}
		}()
		defer srv.Close()
	}
	log.Info("worker running", "ivs", client.Endpoint(), "quota", *quota, "concurrency", *concurrency, "window", *window,
		"queues", queueList)
	return w.Run(ctx)
}

// limiterQuota is the limiter's PerSecond for the -quota flag: ≤ 0 turns
// limiting off.
func limiterQuota(q float64) float64 {
	if q <= 0 {
		return -1
	}
	return q
}

// DefaultPoolConns is a worker's Postgres connections when
// IVSBATCH_DATABASE_URL does not set pool_max_conns: enough for the handlers'
// short transactions at high rates, and two workers fit Postgres's default
// max_connections (100).
const DefaultPoolConns = 40

// scheduleReconcile runs ops reconcile on the schedule; every worker runs
// this loop and Postgres lets exactly one of them run each slot.
func scheduleReconcile(ctx context.Context, log *slog.Logger, spec cron.Schedule, st *store.Store, rdb redis.UniversalClient, taskTimeout time.Duration) {
	id := workerID()
	s := &ops.Scheduler{Schedule: spec, Store: st, Worker: id, Log: log,
		Run: func(ctx context.Context) (int64, error) {
			sum, err := ops.Reconcile(ctx, st, rdb, ops.ReconcileOptions{TaskTimeout: taskTimeout, Operator: "schedule:" + id})
			if err == nil && sum.NeedsHuman {
				log.Warn("scheduled reconcile: needs a human", "run", sum.RunID, "reasons", sum.Reasons)
			}
			return sum.RunID, err
		}}
	s.Loop(ctx)
}

// workerID names this process in the schedules' slots: host and pid.
func workerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// infraFromEnv reads the infrastructure-trouble bound: IVSBATCH_INFRA_MAX_TRIES
// (a whole number ≥ 1) and IVSBATCH_INFRA_MAX_AGE (a Go duration > 0). A bad
// value stops the worker with a message naming the variable.
func infraFromEnv(c *pipeline.Config) error {
	if v := os.Getenv("IVSBATCH_INFRA_MAX_TRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("IVSBATCH_INFRA_MAX_TRIES=%q: want a whole number ≥ 1", v)
		}
		c.InfraMaxTries = n
	}
	if v := os.Getenv("IVSBATCH_INFRA_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("IVSBATCH_INFRA_MAX_AGE=%q: want a duration > 0 such as 2h", v)
		}
		c.InfraMaxAge = d
	}
	return nil
}
