// Command apistatus measures the API's batch status and the console's batch
// page under a running large batch: a generated manifest of two-factor
// records is submitted into a fresh Postgres database, one worker process
// runs it against the IVS simulator (quota off, zero latency: the most
// database work a worker makes), and the server (cmd/server, its shipped
// defaults) answers GET /api/v1/batches/{id} (an API token) and then GET
// /batches/{id} (a person signed in at /login: a session cookie) to
// concurrent clients. It prints the workers' rate alone and under each
// load, and each page's latency percentiles.
//
//	go run ./bench/apistatus -rows 1000000 -clients 8 -run 30s
//
// It builds cmd/enqueue, cmd/worker, cmd/ivs-sim and cmd/server, and uses
// its own database (on IVSBATCH_PG_ADMIN_URL, dropped at the end) and its
// own redis-server; everything it starts is stopped before it exits.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/store"
)

type options struct {
	rows, clients, concurrency, pool int
	rate, pageRate                   float64
	run                              time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the manifest (two-factor records)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients asking the status (at most this many requests at once)")
	flag.Float64Var(&o.rate, "rate", 20, "API status requests per second, all clients together, sent on a fixed schedule (open loop); 0: as fast as the clients go")
	flag.Float64Var(&o.pageRate, "page-rate", 2, "console batch pages per second (the page refreshes itself every 5 s: 2/s is ten people watching)")
	flag.IntVar(&o.concurrency, "concurrency", 160, "the worker's handlers")
	flag.IntVar(&o.pool, "pool", 40, "the worker's Postgres connections")
	flag.DurationVar(&o.run, "run", 30*time.Second, "how long each phase runs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench apistatus:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "ivsbatch-apistatus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/enqueue", "./cmd/worker", "./cmd/ivs-sim", "./cmd/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build (run from the repository root): %w", err)
	}
	dbURL, dropDB, err := servers.CreateDatabase(ctx, "ivsbatch_apistatus")
	if err != nil {
		return err
	}
	defer dropDB()
	redisAddr, redisCmd, err := servers.StartRedis(ctx, dir)
	if err != nil {
		return err
	}
	defer func() { _ = redisCmd.Process.Kill(); _ = redisCmd.Wait() }()
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = servers.FreePort(); err != nil {
			return err
		}
	}
	simAddr, apiAddr, metricsAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	env := append(os.Environ(), "IVSBATCH_DATABASE_URL="+dbURL, "IVSBATCH_REDIS_ADDR="+redisAddr,
		"IVS_ENDPOINT=http://"+simAddr, "IVS_AK=SIMAK0000000000000000", "IVS_SK=sim-secret-key", "IVSBATCH_LOG_LEVEL=ERROR",
		"IVSBATCH_SERVER_ADDR="+apiAddr, "IVSBATCH_METRICS_ADDR="+metricsAddr)
	env = append(env, keyEnv()...)
	registry := filepath.Join(dir, "registry.jsonl") // nobody exists: every call answered 3001, billed
	if err := os.WriteFile(registry, nil, 0o644); err != nil {
		return err
	}
	stopSim, err := start(ctx, env, filepath.Join(dir, "ivs-sim"), "-addr", simAddr, "-quota", "-1", "-latency", "0",
		"-log-level", "ERROR", "-registry", registry)
	if err != nil {
		return err
	}
	defer stopSim()
	if err := servers.WaitListening(ctx, simAddr); err != nil {
		return err
	}
	manifest := filepath.Join(dir, "manifest.csv")
	if err := writeManifest(manifest, o.rows); err != nil {
		return err
	}
	t0 := time.Now()
	submit := exec.CommandContext(ctx, filepath.Join(dir, "enqueue"), "submit", "-quiet", "-name", "apistatus", manifest)
	submit.Env = env
	if out, err := submit.CombinedOutput(); err != nil {
		return fmt.Errorf("submit: %w\n%s", err, out)
	}
	fmt.Fprintf(out, "rows=%d submitted in %s; clients=%d rate=%g/s run=%s worker concurrency=%d pool=%d\n", o.rows,
		time.Since(t0).Round(time.Second), o.clients, o.rate, o.run, o.concurrency, o.pool)
	create := exec.CommandContext(ctx, filepath.Join(dir, "server"), "token-create", "-name", "bench", "-role", "viewer")
	create.Env = env
	tok, err := create.Output()
	if err != nil {
		return fmt.Errorf("token-create: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	const password = "bench password, long enough"
	add := exec.CommandContext(ctx, filepath.Join(dir, "server"), "user-add", "-name", "watcher", "-role", "viewer")
	add.Env, add.Stdin = env, strings.NewReader(password+"\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user-add: %w\n%s", err, out)
	}
	st, err := store.Open(ctx, dbURL, store.WithKeyring(nil))
	if err != nil {
		return err
	}
	defer st.Close()
	var batch int64
	if err := st.Pool().QueryRow(ctx, `SELECT max(id) FROM batches`).Scan(&batch); err != nil {
		return err
	}
	stopServer, err := start(ctx, env, filepath.Join(dir, "server"), "run")
	if err != nil {
		return err
	}
	defer stopServer()
	if err := servers.WaitListening(ctx, apiAddr); err != nil {
		return err
	}
	stopWorker, err := start(ctx, append(env, "IVSBATCH_DATABASE_URL="+dbURL+"&pool_max_conns="+strconv.Itoa(o.pool)),
		filepath.Join(dir, "worker"), "run", "-quota", "-1", "-concurrency", strconv.Itoa(o.concurrency),
		"-window", strconv.Itoa(4*o.concurrency), "-queues", "ivs-extention")
	if err != nil {
		return err
	}
	defer stopWorker()
	if err := servers.WaitListening(ctx, metricsAddr); err != nil {
		return err
	}
	done := func() int {
		c, err := st.BatchCounts(ctx, batch)
		if err != nil {
			return 0
		}
		return c.Total - c.Open()
	}
	sleep(ctx, 10*time.Second) // the worker's first rounds
	// Alone, under the load, alone again: the machine is shared, so the
	// two phases alone bound the noise of the one under load.
	alone := func(what string) {
		a := done()
		sleep(ctx, o.run)
		b := done()
		fmt.Fprintf(out, "worker alone (%s): %7.0f records/s (%d of %d records final; load average %s)\n", what,
			float64(b-a)/o.run.Seconds(), b, o.rows, loadAverage())
	}
	session, err := signIn(ctx, "http://"+apiAddr, "watcher", password)
	if err != nil {
		return err
	}
	alone("before")
	type result struct {
		what string
		lat  []time.Duration
		errs int
	}
	var results []result
	for _, p := range []struct {
		what, path, auth string
		rate             float64
	}{
		{"API status", fmt.Sprintf("/api/v1/batches/%d", batch), "Bearer " + token, o.rate},
		{"console batch page", fmt.Sprintf("/batches/%d", batch), session, o.pageRate},
	} {
		a := done()
		lat, errs := load(ctx, "http://"+apiAddr+p.path, p.auth, o.clients, p.rate, o.run)
		b := done()
		fmt.Fprintf(out, "worker under %-18s %7.0f records/s (%d final; load average %s)\n", p.what+":",
			float64(b-a)/o.run.Seconds(), b, loadAverage())
		results = append(results, result{"GET " + p.path + " (" + p.what + ")", lat, errs})
	}
	alone("after")
	// The charts on request (/charts: every record and attempt of the
	// batch read), once, while the batch runs.
	final := done()
	took, err := once(ctx, "http://"+apiAddr+fmt.Sprintf("/batches/%d/charts", batch), session)
	if err != nil {
		return err
	}
	defer fmt.Fprintf(out, "GET /batches/%d/charts (once, on request; %d records final): %s\n", batch, final, took.Round(time.Millisecond))
	for _, r := range results {
		lat := r.lat
		slices.Sort(lat)
		pct := func(p float64) string {
			if len(lat) == 0 {
				return "-"
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(100 * time.Microsecond).String()
		}
		fmt.Fprintf(out, "%s: %d requests in %s (%.1f/s), %d errors; p50 %s p90 %s p99 %s max %s\n",
			r.what, len(lat), o.run, float64(len(lat))/o.run.Seconds(), r.errs, pct(.50), pct(.90), pct(.99), pct(1))
	}
	return nil
}

// signIn signs in at base's /login as a person does (the form's CSRF
// token from its cookie, then the password) and returns the Cookie header
// of the session. Cookies are handled by hand: they are Secure (__Host-),
// which a client sends over plain HTTP only to loopback.
func signIn(ctx context.Context, base, user, password string) (string, error) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/login", nil)
	resp, err := noRedirect.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-ivsbatch_csrf" {
			csrf = c
		}
	}
	if csrf == nil {
		return "", fmt.Errorf("GET /login: %s without a CSRF cookie", resp.Status)
	}
	form := url.Values{"username": {user}, "password": {password}, "csrf_token": {csrf.Value}, "next": {"/batches"}}
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	resp, err = noRedirect.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-ivsbatch_session" && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("POST /login: %s without a session", resp.Status)
}

// load asks url with clients concurrent loops for d, with auth as its
// Authorization header ("Bearer …") or else as its Cookie, each request taking
// its turn on a fixed schedule of rate a second (0: none); it returns
// every successful request's latency, from its scheduled time (so a slow
// answer delays no measurement), and the number of failures.
func load(ctx context.Context, url, auth string, clients int, rate float64, d time.Duration) ([]time.Duration, int) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	turns := make(chan time.Time, clients)
	go func() {
		defer close(turns)
		start := time.Now()
		for i := 0; ctx.Err() == nil; i++ {
			at := time.Now()
			if rate > 0 {
				at = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				sleep(ctx, time.Until(at))
			}
			select {
			case turns <- at:
			case <-ctx.Done():
			}
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	for range clients {
		wg.Go(func() {
			c := &http.Client{Transport: tr}
			for t := range turns {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				if strings.HasPrefix(auth, "Bearer ") {
					req.Header.Set("Authorization", auth)
				} else {
					req.Header.Set("Cookie", auth)
				}
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				took := time.Since(t)
				mu.Lock()
				switch {
				case ctx.Err() != nil:
				case err != nil || resp.StatusCode != 200:
					errs++
				default:
					lat = append(lat, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, errs
}

// once asks url once with a session cookie and returns how long it took.
func once(ctx context.Context, url, cookie string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Cookie", cookie)
	t := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return time.Since(t), nil
}

// loadAverage is the machine's one-minute load average.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// start runs a process and returns how to stop it (SIGTERM, then wait).
func start(ctx context.Context, env []string, name string, args ...string) (func(), error) {
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Stderr = env, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }, nil
}

func keyEnv() []string {
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	return []string{"IVSBATCH_PII_KEYS=bench:" + base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(index)}
}

// writeManifest writes n two-factor rows with distinct valid id numbers.
func writeManifest(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "ref,shape,name,id_number")
	birth0 := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		first17 := fmt.Sprintf("110101%s%03d", birth0.AddDate(0, 0, i/999).Format("20060102"), 1+i%999)
		c, err := identity.CheckChar(first17)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "r%d,name,王伟%c,%s%c\n", i, []rune("伟芳娜敏静丽强磊")[i%8], first17, c)
	}
	return w.Flush()
}
