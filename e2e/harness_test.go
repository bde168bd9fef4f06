package e2e_test

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/internal/workermain"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Credentials the in-process simulator accepts (not secrets).
const (
	simAK       = "SIMAK0000000000000000"
	simSK       = "sim-secret-key"
	simDomain   = "ivsbatch-e2e"
	simUser     = "batch"
	simPassword = "e2e-password"
	bucket      = "media"
)

var (
	popOnce sync.Once
	popVal  *e2e.Population
	popErr  error
)

// population is built once per test binary: videos take ffmpeg time.
func population(t *testing.T) *e2e.Population {
	t.Helper()
	popOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		popVal, popErr = e2e.Build(ctx, e2e.Options{Seed: 7})
	})
	if popErr != nil {
		t.Fatalf("build population: %v", popErr)
	}
	return popVal
}

// harness is one scenario's private world: a database, a Redis, an S3 store
// holding the population's media, and a simulator on loopback.
type harness struct {
	t      *testing.T
	ctx    context.Context
	pop    *e2e.Population
	redis  string
	dbURL  string
	s3     testenv.S3Server
	st     *store.Store
	objs   *objstore.Store
	objCfg objstore.Config
	media  string // the media root (IVSBATCH_MEDIA_ROOT): file:// references are read only under it
	sim    *ivssim.Server
	simURL string
	log    *slog.Logger
	logBuf *syncBuffer
	stops  []func() // stop the workers started so far (graceful)
	// redisConf, when set, is how workers reach Redis (TLS, Sentinel)
	// instead of the plain private server at redis.
	redisConf *worker.RedisConfig
}

// redisClient returns a client for the workers' Redis.
func (h *harness) redisClient() redis.UniversalClient {
	if h.redisConf != nil {
		return h.redisConf.NewClient()
	}
	return redis.NewClient(&redis.Options{Addr: h.redis})
}

// stopWorkers shuts every running worker down gracefully and waits.
func (h *harness) stopWorkers() {
	for _, stop := range h.stops {
		stop()
	}
	h.stops = nil
}

func newHarness(t *testing.T, simCfg ivssim.Config) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	buf := &syncBuffer{}
	h := &harness{t: t, ctx: ctx, pop: population(t), logBuf: buf,
		log: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf.tail(6000))
		}
	})
	h.dbURL = testenv.PostgresURL(t)
	st, err := store.Open(ctx, h.dbURL, store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	h.st = st
	h.redis = testenv.Redis(t)
	s3 := testenv.S3(t)
	h.s3 = s3
	h.media = t.TempDir()
	h.objCfg = objstore.Config{Endpoint: s3.Endpoint, Region: s3.Region,
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, PathStyle: true, MediaRoot: h.media,
		Buckets: []string{bucket}, DenyPrefixes: []string{picturesPrefix}}
	h.objs, err = objstore.New(ctx, h.objCfg)
	if err != nil {
		t.Fatalf("objstore: %v", err)
	}
	if err := h.objs.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := h.pop.Upload(ctx, func(ctx context.Context, key string, data []byte) error {
		return h.objs.Put(ctx, h.ref(key), data, "")
	}); err != nil {
		t.Fatalf("upload media: %v", err)
	}
	simCfg.Registry = h.pop.Registry
	simCfg.Credentials = []ivssim.Credential{{AK: simAK, SK: simSK}}
	simCfg.IAMUsers = []ivssim.IAMUser{{Domain: simDomain, User: simUser, Password: simPassword}}
	sim, err := ivssim.New(simCfg)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: ends simulated waits
	h.sim, h.simURL = sim, srv.URL
	return h
}

func (h *harness) ref(key string) string { return "s3://" + bucket + "/" + key }

// picturesPrefix is where workers keep liveness pictures when a test asks
// them to (workerOpts.pictures): never a media source.
const picturesPrefix = "s3://" + bucket + "/liveness"

// client returns an IVS client for the simulator: AK/SK, or IAM password tokens.
func (h *harness) client(password bool) *ivs.Client {
	return h.clientWithTimeout(password, 20*time.Second)
}

func (h *harness) clientWithTimeout(password bool, timeout time.Duration) *ivs.Client {
	h.t.Helper()
	c, err := ivs.New(append(h.ivsConfig(password, timeout).Options(), ivs.WithLogger(h.log))...)
	if err != nil {
		h.t.Fatalf("ivs client: %v", err)
	}
	return c
}

// ivsConfig is the simulator's endpoint with AK/SK or IAM password tokens.
func (h *harness) ivsConfig(password bool, timeout time.Duration) ivs.Config {
	c := ivs.Config{Endpoint: h.simURL, Timeout: timeout, AK: simAK, SK: simSK}
	if password {
		c.Password = &ivs.PasswordAuth{Domain: simDomain, User: simUser, Password: simPassword}
	}
	return c
}

// submit uploads the manifest and enqueues it; the invalid row must be
// reported with its line, and every row stored.
func (h *harness) submit() int64 {
	h.t.Helper()
	sum := h.submitSummary()
	if sum.Inserted != len(h.pop.Rows)+1 {
		h.t.Errorf("submit inserted %d records, want %d", sum.Inserted, len(h.pop.Rows)+1)
	}
	return sum.BatchID
}

func (h *harness) submitSummary() ingest.Summary {
	h.t.Helper()
	src := h.ref("manifests/batch.csv")
	if err := h.objs.Put(h.ctx, src, h.pop.ManifestCSV("s3://"+bucket+"/"), "text/csv"); err != nil {
		h.t.Fatalf("upload manifest: %v", err)
	}
	sum, err := ingest.Submit(h.ctx, h.st, h.objs.Open, src, ingest.SubmitOptions{Name: h.t.Name(), Logger: h.log,
		CheckRef: h.objs.CheckRef})
	if err != nil {
		h.t.Fatalf("submit: %v", err)
	}
	if sum.Valid != len(h.pop.Rows) || sum.Rejected != 1 {
		h.t.Errorf("submit: %+v; want %d valid rows and 1 rejected", sum, len(h.pop.Rows))
	}
	if len(sum.Bad) != 1 || sum.Bad[0].Line != h.pop.BadLine() || sum.Bad[0].Code != "id.check" {
		h.t.Errorf("submit reported bad rows %+v, want one id.check at line %d", sum.Bad, h.pop.BadLine())
	}
	return sum
}

// workerOpts tune startWorkers.
type workerOpts struct {
	n        int
	password bool
	quota    float64 // limiter quota; default 10
	policy   func(*pipeline.Policy)
	timeout  time.Duration // IVS call timeout; default 20 s
	handlers int           // handlers per endpoint and worker; default 8
	pictures string        // keep liveness pictures under this prefix; "" drops them
	config   func(*pipeline.Config)
}

// startWorkers runs n workers sharing Postgres and Redis, as n processes
// would, each built by workermain.Main (what `worker run` ships) from an
// explicit Config; they stop when the test ends. It returns their Mains.
func (h *harness) startWorkers(o workerOpts) []*workermain.Main {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx)
	var out []*workermain.Main
	stop := sync.OnceFunc(func() {
		cancel()
		for _, m := range out {
			if err := m.Close(); err != nil {
				h.t.Errorf("worker run: %v", err)
			}
		}
	})
	h.stops = append(h.stops, stop)
	h.t.Cleanup(stop)
	for range max(o.n, 1) {
		m := &workermain.Main{Config: h.workerConfig(o), Log: h.log, Adapt: o.config}
		out = append(out, m)
		if err := m.Run(ctx); err != nil {
			h.t.Fatalf("start worker: %v", err)
		}
	}
	return out
}

// workerConfig is a worker's Config for this harness's servers, with
// short waits so that retries and pauses show within a test.
func (h *harness) workerConfig(o workerOpts) workermain.Config {
	c := workermain.DefaultConfig()
	c.DatabaseURL, c.PoolConns, c.Keyring = h.dbURL, 10, h.st.Keyring()
	c.Redis = worker.RedisConfig{Conn: asynq.RedisClientOpt{Addr: h.redis}, Display: "redis://" + h.redis}
	if h.redisConf != nil {
		c.Redis = *h.redisConf
	}
	c.IVS = h.ivsConfig(o.password, cmp.Or(o.timeout, 20*time.Second))
	c.ObjStore = h.objCfg
	c.Media = media.Config{}
	c.Policy.BackoffBase, c.Policy.BackoffMax, c.Policy.ThrottleWait, c.Policy.PauseWait = 50*time.Millisecond, time.Second, 200*time.Millisecond, 300*time.Millisecond
	if o.policy != nil {
		o.policy(&c.Policy)
	}
	c.Quota, c.LimiterBackoff = cmp.Or(o.quota, 10), 300*time.Millisecond
	c.Concurrency, c.Window, c.ShutdownTimeout = cmp.Or(o.handlers, 8), 20, 10*time.Second
	c.AccountRefresh, c.DedupWait = time.Second, 200*time.Millisecond
	c.KeepPictures = o.pictures
	c.ReconcileCron, c.MetricsAddr = "off", ""
	// Webhook receivers in tests listen on loopback.
	c.Webhooks.AllowPrivate, c.Webhooks.RetryBase, c.Webhooks.Interval = true, 200*time.Millisecond, 200*time.Millisecond
	return c
}

// wait blocks until every record of batch has its final outcome.
func (h *harness) wait(batch int64, limit time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		c, err := h.st.BatchCounts(h.ctx, batch)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.Open() == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("batch %d not finished after %s: %v", batch, limit, c.ByStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) tail(n int) string {
	str := s.String()
	if len(str) > n {
		return str[len(str)-n:]
	}
	return str
}
