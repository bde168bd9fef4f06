// Command scale measures ivsbatch on a million-row batch: a generated
// manifest (two-factor records and records with a face image) is submitted
// into a fresh Postgres database; worker processes (one, then two) run for a
// fixed time with the quota off against the IVS simulator (zero latency,
// separate process), first on the two-factor records alone (-queues
// ivs-extention), then on both endpoints; after each workload's tuned
// phases, the shipped defaults (`worker run` with no tuning flags: the
// quota off, the queues and addresses from the environment) run as
// a deployment starts them, and their rate is printed as a ratio of the
// best tuned phase's;
// and the periodic queries (feeder claim, status, metrics scrape), Redis
// memory, worker RSS, export, report and a 100,000-record requeue are
// measured at that size, with a CPU profile.
//
//	go run ./bench/scale -rows 1000000 -run 60s
//
// It builds cmd/enqueue, cmd/worker, cmd/ops and cmd/ivs-sim, and uses its
// own database (on IVSBATCH_PG_ADMIN_URL, dropped at the end) and its own
// redis-server; everything it starts is stopped before it exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/bench/internal/contend"
	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

type options struct {
	rows        int
	imageEvery  int
	run         time.Duration
	requeue     int
	concurrency int
	mixedConc   int
	pool        int
	workloads   string
	bulk        bool
	rounds      int
}

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the manifest")
	flag.IntVar(&o.imageEvery, "image-every", 10, "one row in N has a face image (name_face_image); the others are two-factor (name)")
	flag.DurationVar(&o.run, "run", 60*time.Second, "how long each worker phase runs")
	flag.IntVar(&o.requeue, "requeue", 100_000, "records to re-queue")
	flag.IntVar(&o.concurrency, "concurrency", 320, "handlers per endpoint and worker on the two-factor records (a task waits for a few group commits: with 160, one worker left a quarter of the CPU idle)")
	flag.IntVar(&o.mixedConc, "mixed-concurrency", 160, "handlers per endpoint and worker on both endpoints (an image record holds its photo, base64 and request body while in flight: 320 took the worker to 178 MB)")
	flag.IntVar(&o.pool, "pool", 80, "Postgres connections of the worker processes together, split between them (pool_max_conns in IVSBATCH_DATABASE_URL; Postgres's default max_connections is 100)")
	flag.StringVar(&o.workloads, "workloads", "two-factor,mixed", "the workloads to run, comma-separated: two-factor (queue ivs-extention), mixed (both queues)")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds of each workload's phases (tuned with one process, with two, then shipped): on a shared machine, more rounds average the load out of the ratio")
	flag.BoolVar(&o.bulk, "bulk", true, "measure the bulk operator commands (export, report, requeue) at the end")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench scale:", err)
		os.Exit(1)
	}
}

// world is what the phases share.
type world struct {
	o      options
	dir    string
	env    []string
	st     *store.Store
	batch  int64
	redis  *exec.Cmd
	rdb    *redis.Client
	sim    *exec.Cmd
	out    io.Writer
	simURL string
	dbURL  string
}

func run(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "ivsbatch-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	wls, err := o.selectWorkloads()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rows=%d image_every=%d run=%s concurrency=%d (mixed %d) pool=%d cores=2 (shared machine)\n", o.rows,
		o.imageEvery, o.run, o.concurrency, o.mixedConc, o.pool)
	if err := buildBinaries(ctx, dir); err != nil {
		return err
	}
	dbURL, dropDB, err := servers.CreateDatabase(ctx, "ivsbatch_scale")
	if err != nil {
		return err
	}
	defer dropDB()
	redisAddr, redisCmd, err := servers.StartRedis(ctx, dir)
	if err != nil {
		return err
	}
	defer func() { _ = redisCmd.Process.Kill(); _ = redisCmd.Wait() }()
	simPort, err := servers.FreePort()
	if err != nil {
		return err
	}
	w := &world{o: o, dir: dir, out: out, redis: redisCmd, simURL: fmt.Sprintf("http://127.0.0.1:%d", simPort), dbURL: dbURL}
	w.env = append(os.Environ(), "IVSBATCH_DATABASE_URL="+dbURL, "IVSBATCH_REDIS_ADDR="+redisAddr,
		"IVS_ENDPOINT="+w.simURL, "IVS_AK=SIMAK0000000000000000", "IVS_SK=sim-secret-key", "IVSBATCH_LOG_LEVEL=ERROR")
	w.env = append(w.env, keyEnv()...)
	// The generated faces are file:// references: enqueue refuses and the
	// workers do not read them outside the media root.
	media := filepath.Join(dir, "media")
	if err := os.Mkdir(media, 0o755); err != nil {
		return err
	}
	w.env = append(w.env, "IVSBATCH_MEDIA_ROOT="+media)
	// An empty registry: nobody exists, every call is answered (3001) and billed.
	registry := filepath.Join(dir, "registry.jsonl")
	if err := os.WriteFile(registry, nil, 0o644); err != nil {
		return err
	}
	w.sim = exec.Command(filepath.Join(dir, "ivs-sim"), "-addr", fmt.Sprintf("127.0.0.1:%d", simPort), "-quota", "-1",
		"-latency", "0", "-log-level", "ERROR", "-registry", registry)
	w.sim.Env, w.sim.Stderr = w.env, os.Stderr
	if err := w.sim.Start(); err != nil {
		return err
	}
	defer func() { _ = w.sim.Process.Kill(); _ = w.sim.Wait() }()
	if err := servers.WaitListening(ctx, fmt.Sprintf("127.0.0.1:%d", simPort)); err != nil {
		return err
	}
	w.rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
	defer w.rdb.Close()

	manifest := filepath.Join(dir, "manifest.csv")
	start := time.Now()
	if err := writeManifest(manifest, media, o.rows, o.imageEvery); err != nil {
		return err
	}
	fmt.Fprintf(out, "manifest: %d rows written in %s\n", o.rows, time.Since(start).Round(time.Millisecond))
	wall, rss, err := runTimed(ctx, w.env, io.Discard, filepath.Join(dir, "enqueue"), "submit", "-quiet", "-name", "scale", manifest)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "submit: %s, peak RSS %.0f MB\n", wall.Round(time.Millisecond), rss)

	if w.st, err = store.Open(ctx, dbURL); err != nil {
		return err
	}
	defer w.st.Close()
	if err := w.st.Pool().QueryRow(ctx, `SELECT id FROM batches ORDER BY id DESC LIMIT 1`).Scan(&w.batch); err != nil {
		return err
	}
	if err := w.idleQueries(ctx); err != nil {
		return err
	}
	// Two workloads: the batch's two-factor records alone (workers serving
	// the ivs-extention queue only; the image records wait), then both
	// endpoints at once, each endpoint's handlers as fast as they go. Each
	// runs tuned (one process, then two), then as shipped (one process),
	// -rounds times.
	for _, wl := range wls {
		var tuned [3]float64 // summed rates by processes
		var shipped float64
		for range max(1, o.rounds) {
			for _, n := range []int{1, 2} {
				r, err := w.phase(ctx, n, wl, false)
				if err != nil {
					return err
				}
				tuned[n] += r.rate
			}
			r, err := w.phase(ctx, 1, wl, true)
			if err != nil {
				return err
			}
			shipped += r.rate
		}
		one, two := tuned[1], tuned[2]
		rounds := float64(max(1, o.rounds))
		fmt.Fprintf(w.out, "\n%s, mean of %.0f round(s): shipped defaults %.0f records/s; tuned, one process %.0f/s, two %.0f/s\n",
			wl.name, rounds, shipped/rounds, one/rounds, two/rounds)
		fmt.Fprintf(w.out, "shipped defaults / tuned, one process each: %.2f; / the best tuned: %.2f\n",
			shipped/one, shipped/max(one, two))
	}
	if !o.bulk {
		return nil
	}
	return w.bulk(ctx)
}

// selectWorkloads returns the workloads -workloads names.
func (o options) selectWorkloads() ([]workload, error) {
	all := map[string]workload{
		"two-factor": {"two-factor records (queue ivs-extention)", taskqueue.QueueExtention, o.concurrency},
		"mixed":      {"two-factor and image records (both queues)", strings.Join(taskqueue.Queues, ","), o.mixedConc},
	}
	var out []workload
	for _, name := range strings.Split(o.workloads, ",") {
		wl, ok := all[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("-workloads: unknown workload %q (want two-factor, mixed)", name)
		}
		out = append(out, wl)
	}
	return out, nil
}

// idleQueries times the periodic queries on the full batch before workers run.
func (w *world) idleQueries(ctx context.Context) error {
	// Autovacuum's first pass over a million new rows (hint bits, the
	// visibility map) takes a core for a while; it runs here, timed, so
	// that the phases measure the pipeline rather than that one-off pass.
	start := time.Now()
	if _, err := w.st.Pool().Exec(ctx, `VACUUM (ANALYZE) records`); err != nil {
		return err
	}
	fmt.Fprintf(w.out, "vacuum and analyze of the new records (autovacuum's first pass, done before the timed phases): %s\n",
		time.Since(start).Round(time.Millisecond))
	c, err := w.st.BatchCounts(ctx, w.batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "batch %d: %d records %v\n", w.batch, c.Total, c.ByStatus)
	if err := w.claimTimes(ctx, "1M pending"); err != nil {
		return err
	}
	if err := w.explain(ctx, "idle"); err != nil {
		return err
	}
	return w.statusTimes(ctx, "idle")
}

// explain prints the scan nodes and execution times of EXPLAIN ANALYZE of
// the periodic queries (claims rolled back).
func (w *world) explain(ctx context.Context, when string) error {
	plans, err := w.st.ExplainPeriodic(ctx, w.batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "EXPLAIN ANALYZE of the periodic queries, %s (scan nodes, execution time):\n", when)
	for _, p := range plans {
		var keep []string
		for _, l := range strings.Split(p.Plan, "\n") {
			t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
			if strings.Contains(t, "Scan") || strings.HasPrefix(t, "Execution Time") || strings.HasPrefix(t, "Trigger") ||
				strings.HasPrefix(t, "Heap Blocks") || strings.HasPrefix(t, "Rows Removed") {
				keep = append(keep, t)
			}
		}
		fmt.Fprintf(w.out, "  %s: %s\n", p.Name, strings.Join(keep, "; "))
	}
	return nil
}

// claimTimes times the feeder's claim per endpoint (then puts the claimed
// records back to pending).
func (w *world) claimTimes(ctx context.Context, when string) error {
	for _, ep := range []pipeline.Endpoint{pipeline.EndpointExtention, pipeline.EndpointStandard} {
		var refs []pipeline.TaskRef
		med, worst, err := timeN(5, func() error {
			r, err := w.st.ClaimPending(ctx, ep, 100)
			refs = append(refs, r...)
			return err
		})
		if err != nil {
			return err
		}
		var ids []int64
		for _, r := range refs {
			ids = append(ids, r.RecordID)
		}
		if _, err := w.st.Pool().Exec(ctx, `UPDATE records SET status = 'pending' WHERE id = ANY ($1)`, ids); err != nil {
			return err
		}
		fmt.Fprintf(w.out, "claim %s (%s, 100 records): median %s, max %s\n", ep, when, ms(med), ms(worst))
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// statusTimes times GetBatchStatus (what status, status -wait and the ETA
// read), StatusCounts (the metrics scrape's query) and `enqueue status`.
func (w *world) statusTimes(ctx context.Context, when string) error {
	med, worst, err := timeN(9, func() error { _, err := w.st.GetBatchStatus(ctx, w.batch); return err })
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "status query (%s): median %s, max %s\n", when, ms(med), ms(worst))
	med, worst, err = timeN(9, func() error { _, err := w.st.StatusCounts(ctx); return err })
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "metrics records-by-status query (%s): median %s, max %s\n", when, ms(med), ms(worst))
	wall, _, err := runTimed(ctx, w.env, io.Discard, filepath.Join(w.dir, "enqueue"), "status", "-batch", strconv.FormatInt(w.batch, 10))
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "enqueue status command (%s): %s wall (process start included)\n", when, ms(wall))
	return nil
}

// terminal counts the batch's records with a final outcome.
func (w *world) terminal(ctx context.Context) (int, error) {
	c, err := w.st.BatchCounts(ctx, w.batch)
	if err != nil {
		return 0, err
	}
	return c.Total - c.Open(), nil
}

// workload is what a phase's workers serve.
type workload struct {
	name        string
	queues      string // worker run -queues
	concurrency int    // worker run -concurrency
}

// phaseResult is what a phase reports for the comparison with the shipped
// defaults.
type phaseResult struct {
	rate     float64 // records finished per second
	settings string
}

// phase runs n worker processes serving wl for o.run and measures them.
// Tuned, they run with wl's handlers, a window of four times as many and
// o.pool connections split between them; shipped, one `worker run` runs
// without tuning flags, as a deployment starts it: its settings are the
// defaults, and only the environment names its servers, the quota (off),
// the queues and the metrics address.
func (w *world) phase(ctx context.Context, n int, wl workload, shipped bool) (phaseResult, error) {
	first := n == 1 && wl.queues == taskqueue.QueueExtention && !shipped
	settings := fmt.Sprintf("%d worker process(es), %d handlers per endpoint, %d connections", n, wl.concurrency, w.o.pool)
	if shipped {
		h, queues := worker.DefaultConcurrency(-1), w.shippedQueues(wl)
		settings = fmt.Sprintf("the shipped defaults: worker run with no tuning flags (%d handlers per endpoint, window %d, %d connections; queues %s)",
			h, worker.DefaultWindow(h), worker.PoolConns(h, len(strings.Split(queues, ","))), queues)
	}
	fmt.Fprintf(w.out, "\n== %s: %s, quota off, simulator latency 0, %s ==\n", wl.name, settings, w.o.run)
	metricsPort, err := servers.FreePort()
	if err != nil {
		return phaseResult{}, err
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	var workers []*exec.Cmd
	stopAll := func() []float64 {
		var rss []float64
		for _, c := range workers {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range workers {
			_ = c.Wait()
			rss = append(rss, maxRSS(c))
		}
		workers = nil
		return rss
	}
	defer stopAll()
	for i := range n {
		addr := ""
		if i == 0 {
			addr = metricsAddr
		}
		c := exec.Command(filepath.Join(w.dir, "worker"), "run", "-quota", "-1", "-concurrency", strconv.Itoa(wl.concurrency),
			"-window", strconv.Itoa(4*wl.concurrency), "-metrics-addr", addr, "-queues", wl.queues)
		c.Env = append(w.env, "IVSBATCH_PPROF=1",
			"IVSBATCH_DATABASE_URL="+w.dbURL+"&pool_max_conns="+strconv.Itoa(max(4, w.o.pool/n)))
		if shipped {
			c = exec.Command(filepath.Join(w.dir, "worker"), "run")
			c.Env = append(w.env, "IVSBATCH_QUOTA=-1", "IVSBATCH_QUEUES="+w.shippedQueues(wl), "IVSBATCH_METRICS_ADDR="+addr)
		}
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return phaseResult{}, err
		}
		workers = append(workers, c)
	}
	if err := servers.WaitListening(ctx, metricsAddr); err != nil {
		return phaseResult{}, err
	}
	time.Sleep(5 * time.Second) // warm-up: the feeder fills the queues
	groups := map[string][]int{"redis": {w.redis.Process.Pid}, "simulator": {w.sim.Process.Pid}}
	for _, c := range workers {
		groups["workers"] = append(groups["workers"], c.Process.Pid)
	}
	t0 := time.Now()
	done0, err := w.terminal(ctx)
	if err != nil {
		return phaseResult{}, err
	}
	cpu0 := sampleCPU(ctx, w.st, groups)
	// Mid-run: the periodic queries under load, the scrape, a CPU profile.
	time.Sleep(w.o.run / 4)
	if err := w.statusTimes(ctx, "under load"); err != nil {
		return phaseResult{}, err
	}
	if first {
		if err := w.explain(ctx, "under load"); err != nil {
			return phaseResult{}, err
		}
	}
	med, worst, err := timeN(5, func() error { return scrape(ctx, metricsAddr) })
	if err != nil {
		return phaseResult{}, err
	}
	fmt.Fprintf(w.out, "metrics scrape GET /metrics (under load): median %s, max %s\n", ms(med), ms(worst))
	var conns int
	if err := w.st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid()`).Scan(&conns); err != nil {
		return phaseResult{}, err
	}
	fmt.Fprintf(w.out, "Postgres connections to the database (workers' and the benchmark's, under load): %d\n", conns)
	profiled := false
	if first {
		if err := saveProfile(ctx, metricsAddr, w.dir, min(20*time.Second, w.o.run/2)); err != nil {
			return phaseResult{}, err
		}
		profiled = true
	}
	if rest := w.o.run - time.Since(t0); rest > 0 {
		time.Sleep(rest)
	}
	wall := time.Since(t0)
	done1, err := w.terminal(ctx)
	if err != nil {
		return phaseResult{}, err
	}
	cpu1 := sampleCPU(ctx, w.st, groups)
	calls, err := w.callsByEndpoint(ctx, t0, t0.Add(wall))
	if err != nil {
		return phaseResult{}, err
	}
	mem, err := w.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return phaseResult{}, err
	}
	rss := stopAll()
	fmt.Fprintf(w.out, "records finished: %d in %s = %.0f records/s end to end\n", done1-done0, wall.Round(time.Millisecond),
		float64(done1-done0)/wall.Seconds())
	fmt.Fprintf(w.out, "calls per endpoint: %s\n", calls)
	shares := cpuShares(cpu0, cpu1, wall)
	var names []string
	for k := range shares {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	total := 0.0
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, shares[k]))
		total += shares[k]
	}
	fmt.Fprintf(w.out, "CPU in cores (of 2): %s; idle or other %.2f\n", strings.Join(parts, ", "), 2-total)
	fmt.Fprintf(w.out, "worker peak RSS: %v MB\n", fmtMB(rss))
	fmt.Fprintf(w.out, "redis: %s\n", redisMemory(mem))
	if profiled {
		top, err := topOfProfile(ctx, filepath.Join(w.dir, "worker"), w.dir)
		if err != nil {
			return phaseResult{}, err
		}
		fmt.Fprintf(w.out, "worker CPU profile (pprof -top):\n%s", indent(top))
	}
	return phaseResult{rate: float64(done1-done0) / wall.Seconds(), settings: settings}, nil
}

// shippedQueues are the queues the shipped worker serves in wl: all of them
// (the default) unless the batch holds records wl leaves waiting (image
// records in the two-factor workload), as a deployment with hosts per
// endpoint would set IVSBATCH_QUEUES.
func (w *world) shippedQueues(wl workload) string {
	if w.o.imageEvery > w.o.rows {
		return strings.Join(taskqueue.Queues, ",")
	}
	return wl.queues
}

func fmtMB(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(s, ", ")
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

func redisMemory(info string) string {
	var out []string
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "used_memory_human:") || strings.HasPrefix(l, "used_memory_peak_human:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, " ")
}

// callsByEndpoint counts the attempts started in [a, b) per endpoint.
func (w *world) callsByEndpoint(ctx context.Context, a, b time.Time) (string, error) {
	rows, err := w.st.Pool().Query(ctx, `SELECT endpoint, count(*) FROM attempts WHERE started_at >= $1 AND started_at < $2
		GROUP BY 1 ORDER BY 1`, a, b)
	if err != nil {
		return "", err
	}
	var parts []string
	for rows.Next() {
		var ep string
		var n int
		if err := rows.Scan(&ep, &n); err != nil {
			rows.Close()
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %.0f/s", ep, float64(n)/b.Sub(a).Seconds()))
	}
	rows.Close()
	return strings.Join(parts, ", "), rows.Err()
}

// bulk measures export and report over the whole batch, then a requeue of
// o.requeue failed records while outcome-style writes run on the batch's
// open records under lock_timeout = 1s.
func (w *world) bulk(ctx context.Context) error {
	fmt.Fprintf(w.out, "\n== bulk operator commands over the whole batch ==\n")
	b := strconv.FormatInt(w.batch, 10)
	ops := filepath.Join(w.dir, "ops")
	wall, rss, err := runTimed(ctx, w.env, io.Discard, ops, "export", "-batch", b, "-o", filepath.Join(w.dir, "export.csv"))
	if err != nil {
		return err
	}
	fi, _ := os.Stat(filepath.Join(w.dir, "export.csv"))
	fmt.Fprintf(w.out, "export: %s, peak RSS %.0f MB, %d MB of CSV\n", wall.Round(time.Millisecond), rss, fi.Size()>>20)
	wall, rss, err = runTimed(ctx, w.env, io.Discard, ops, "export", "-batch", b, "-o", filepath.Join(w.dir, "export.xlsx"))
	if err != nil {
		return err
	}
	fi, _ = os.Stat(filepath.Join(w.dir, "export.xlsx"))
	fmt.Fprintf(w.out, "export -format xlsx: %s, peak RSS %.0f MB, %d MB of xlsx\n", wall.Round(time.Millisecond), rss, fi.Size()>>20)
	wall, rss, err = runTimed(ctx, w.env, io.Discard, ops, "report", "-batch", b, "-o", filepath.Join(w.dir, "report.html"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "report: %s, peak RSS %.0f MB\n", wall.Round(time.Millisecond), rss)
	// The outage case: o.requeue records failed with a transient code.
	tag, err := w.st.Pool().Exec(ctx, `UPDATE records SET status = 'failed', last_error_code = 'bench.outage', finished_at = now()
		WHERE id IN (SELECT id FROM records WHERE batch_id = $1 AND status = 'pending' ORDER BY id DESC LIMIT $2)`, w.batch, w.o.requeue)
	if err != nil {
		return err
	}
	// Meanwhile workers finish the batch's pending two-factor records one by one.
	stop := make(chan struct{})
	res := contend.Start(ctx, w.st.Pool(), `UPDATE records SET status = 'done', verdict = 'valid', verification_code = 1000,
		finished_at = now(), updated_at = now()
		WHERE id = (SELECT id FROM records WHERE batch_id = $1 AND status = 'pending' AND shape = 'name' AND id > $2
		            ORDER BY id LIMIT 1) RETURNING id`, w.batch, false, stop)
	wall, rss, err = runTimed(ctx, w.env, io.Discard, ops, "requeue", "-batch", b, "-code", "bench.outage")
	close(stop)
	wr := <-res
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "requeue of %d records: %s, peak RSS %.0f MB; meanwhile %d outcome writes on open records, slowest %s, error: %v\n",
		tag.RowsAffected(), wall.Round(time.Millisecond), rss, wr.N, ms(wr.Worst), wr.Err)
	rows, err := w.st.ListAudit(ctx, "requeue", 1)
	if err != nil || len(rows) != 1 {
		return fmt.Errorf("requeue audit row: %v", err)
	}
	fmt.Fprintf(w.out, "requeue audit result: %v\n", rows[0].Result)
	return nil
}
