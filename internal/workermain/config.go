package workermain

import (
	"fmt"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/webhook"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Config is everything `worker run` needs, as plain values. DefaultConfig
// writes the defaults (once, here); ParseEnv fills it from the environment,
// tests write it directly.
type Config struct {
	DatabaseURL string
	// PoolConns is the Postgres pool's size when DatabaseURL does not set
	// pool_max_conns (0: worker.PoolConns of the handlers).
	PoolConns int32
	Keyring   *pii.Keyring // keys for personal data; required
	Redis     worker.RedisConfig
	IVS       ivs.Config
	ObjStore  objstore.Config
	Media     media.Config
	Policy    pipeline.Policy

	// Concurrency is the records of each queue handled at once (0:
	// worker.DefaultConcurrency of the quota); Window the tasks the feeder
	// keeps waiting in each queue (0: worker.DefaultWindow of Concurrency).
	// Sized by Config.sized (README "Sizing").
	Concurrency int
	Window      int
	Queues      []string // the queues served and fed
	Feed        bool     // run the feeder in this process
	// Quota is the account's requests/s per endpoint, shared by every
	// worker; 0 or less turns limiting off.
	Quota float64
	// LimiterBackoff is the limiter's gap after a 429 (0: the limiter's default).
	LimiterBackoff  time.Duration
	TaskTimeout     time.Duration
	ShutdownTimeout time.Duration
	// AccountRefresh is how often the account pause is re-read besides
	// Postgres's notifications.
	AccountRefresh time.Duration

	// DedupWindow bounds the age of a verdict reused across batches; 0
	// turns reuse across batches off. DedupWait is how long a record waits
	// for a twin's verdict in flight (0: the processor's default).
	DedupWindow time.Duration
	DedupWait   time.Duration
	// KeepPictures, when set (s3://bucket/prefix or file://…), keeps the
	// liveness pictures of video verdicts there; it is never read as media.
	KeepPictures string
	// InfraMaxTries and InfraMaxAge bound infrastructure trouble per record
	// (0: the processor's defaults); InfraBackoffBase/Max its retries.
	InfraMaxTries                     int
	InfraMaxAge                       time.Duration
	InfraBackoffBase, InfraBackoffMax time.Duration

	// ReconcileCron is when this worker competes to run reconcile (a cron
	// spec, or "off").
	ReconcileCron string
	// MetricsAddr serves /metrics and /healthz ("" off; port 0 picks one,
	// see Main.MetricsURL). Pprof adds /debug/pprof/ there.
	MetricsAddr string
	Pprof       bool

	// Webhooks is how this worker delivers batch events (package webhook):
	// every worker dispatches and delivers them.
	Webhooks webhook.Config
}

// DefaultConfig is the worker's defaults: every setting's default is
// written here and nowhere else.
func DefaultConfig() Config {
	return Config{
		Policy:          pipeline.DefaultPolicy(),
		IVS:             ivs.Config{Timeout: ivs.DefaultTimeout},
		ObjStore:        objstore.Config{Endpoint: objstore.DefaultEndpoint, Region: objstore.DefaultRegion, PathStyle: true},
		Queues:          taskqueue.Queues,
		Feed:            true,
		Quota:           ops.DefaultQuota,
		TaskTimeout:     worker.DefaultTaskTimeout,
		ShutdownTimeout: worker.DefaultShutdownTimeout,
		AccountRefresh:  5 * time.Second,
		DedupWindow:     pipeline.DefaultDedupWindow,
		ReconcileCron:   ops.DefaultReconcileCron,
		MetricsAddr:     "127.0.0.1:9090",
		Webhooks:        webhook.Config{}.WithDefaults(),
	}
}

// validate says which setting cannot work.
func (c Config) validate() error {
	switch {
	case c.DatabaseURL == "":
		return fmt.Errorf("Config.DatabaseURL: empty (IVSBATCH_DATABASE_URL)")
	case c.Keyring == nil:
		return &envconf.Missing{Name: "IVSBATCH_PII_KEYS", Want: "keys for personal data: IVSBATCH_PII_KEYS (or _FILE) and IVSBATCH_PII_INDEX_KEY (see README)"}
	case c.Redis.Conn == nil:
		return fmt.Errorf("Config.Redis: not set (IVSBATCH_REDIS_URL or IVSBATCH_REDIS_ADDR)")
	case c.Concurrency < 0:
		return fmt.Errorf("Config.Concurrency %d: want at least 1, or 0 to size from the quota (IVSBATCH_CONCURRENCY, -concurrency)", c.Concurrency)
	case c.Window < 0:
		return fmt.Errorf("Config.Window %d: want at least 1, or 0 to size from the handlers (IVSBATCH_QUEUE_WINDOW, -window)", c.Window)
	case c.TaskTimeout <= 0:
		return fmt.Errorf("Config.TaskTimeout %s: want a positive duration (-task-timeout)", c.TaskTimeout)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("Config.ShutdownTimeout %s: want a positive duration (-shutdown-timeout)", c.ShutdownTimeout)
	case c.AccountRefresh <= 0:
		return fmt.Errorf("Config.AccountRefresh %s: want a positive duration", c.AccountRefresh)
	case c.PoolConns < 0:
		return fmt.Errorf("Config.PoolConns %d: want at least 1, or 0 to size from the handlers", c.PoolConns)
	}
	if err := config.RequireIVS(c.IVS); err != nil {
		return err
	}
	if _, err := worker.ParseQueues(strings.Join(c.Queues, ",")); err != nil {
		return fmt.Errorf("Config.Queues %q: %w (IVSBATCH_QUEUES, -queues)", c.Queues, err)
	}
	if _, err := ops.ParseReconcileCron(c.ReconcileCron); err != nil {
		return err
	}
	return c.Webhooks.Validate()
}

// sized is c with the sizing defaults in place of its zero Concurrency,
// Window and PoolConns: handlers from the quota, the window and the Postgres
// connections from the handlers (worker/sizing.go; README "Sizing").
func (c Config) sized() Config {
	if c.Concurrency == 0 {
		c.Concurrency = worker.DefaultConcurrency(c.Quota)
	}
	if c.Window == 0 {
		c.Window = worker.DefaultWindow(c.Concurrency)
	}
	if c.PoolConns == 0 {
		c.PoolConns = worker.PoolConns(c.Concurrency, len(c.Queues))
	}
	return c
}

// limiterQuota is the limiter's PerSecond for Quota: ≤ 0 turns limiting off.
func (c Config) limiterQuota() float64 {
	if c.Quota <= 0 {
		return -1
	}
	return c.Quota
}

// dedupWindow is the processor's DedupWindow: negative turns reuse across
// batches off (the processor reads zero as its default).
func (c Config) dedupWindow() time.Duration {
	if c.DedupWindow <= 0 {
		return -1
	}
	return c.DedupWindow
}
