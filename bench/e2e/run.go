package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Simulator credentials (not secrets).
const (
	simAK = "SIMAK0000000000000000"
	simSK = "sim-secret-key"
)

// result is what one run measured.
type result struct {
	records  int
	elapsed  time.Duration
	counts   map[pipeline.Status]int
	ledger   ivssim.Ledger
	wrong    int
	setupDur time.Duration
	// endpoints: per endpoint, billed calls per second between its first and last call
	endpoints map[string]string
	// rates: the same rates as numbers
	rates map[string]float64
	// sent and arrived: per endpoint, the spacing of the workers' sends and
	// of the requests' arrivals at the simulator (see spacingOf)
	sent, arrived map[string]string
	// dipped: per endpoint, the seconds short of the quota (see dips)
	dipped map[string]string
	// late: per endpoint, the calls that took a fresh slot because they came
	// to theirs too late (worker processes only; nil otherwise)
	late map[string]float64
	// twice: the attempts of each uuid billed more than once; unmarked: the
	// extra billed calls no attempt marks billed or possibly billed
	twice    []string
	unmarked int
}

// endpointRates measures, from the attempts table, each endpoint's achieved
// rate: calls divided by the span from its first to its last call.
func endpointRates(ctx context.Context, st *store.Store) (map[string]string, map[string]float64, error) {
	rows, err := st.Pool().Query(ctx, `
		SELECT endpoint, count(*), extract(epoch FROM max(started_at) - min(started_at))
		FROM attempts WHERE billed GROUP BY endpoint`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out, rates := map[string]string{}, map[string]float64{}
	for rows.Next() {
		var ep string
		var n int
		var span float64
		if err := rows.Scan(&ep, &n, &span); err != nil {
			return nil, nil, err
		}
		if span > 0 {
			rates[ep] = float64(n-1) / span
			out[ep] = fmt.Sprintf("%d calls in %.1fs = %.2f/s", n, span, rates[ep])
		}
	}
	return out, rates, rows.Err()
}

func (r result) print(w io.Writer, o options) {
	mode := "in-process instances"
	if o.procs {
		mode = "processes"
	}
	sized := "set by -concurrency"
	if o.concurrency == 0 {
		sized = "the worker's default for the quota"
	}
	shapes := "all (images and text)"
	if o.shapes != nil {
		shapes = fmt.Sprint(o.shapes)
	}
	fmt.Fprintf(w, "shapes=%s ", shapes)
	fmt.Fprintf(w, "records=%d workers=%d (%s) concurrency=%d (%s) db_conns=%d per worker quota=%g latency=%s\n",
		r.records, o.workers, mode, o.concurrencyFor(), sized, worker.PoolConns(o.concurrencyFor(), 2), o.quota, o.latency)
	fmt.Fprintf(w, "elapsed=%s rate=%.1f records/s (setup %s, not counted)\n",
		r.elapsed.Round(time.Millisecond), float64(r.records)/r.elapsed.Seconds(), r.setupDur.Round(time.Second))
	fmt.Fprintf(w, "statuses=%v wrong_outcomes=%d\n", r.counts, r.wrong)
	for ep, rate := range r.endpoints {
		use := ""
		if o.quota > 0 {
			use = fmt.Sprintf(" (%.3f of the quota)", r.rates[ep]/o.quota)
		}
		fmt.Fprintf(w, "achieved %s: %s%s\n", ep, rate, use)
		fmt.Fprintf(w, "  sent:    %s\n", r.sent[ep])
		fmt.Fprintf(w, "  arrived: %s\n", r.arrived[ep])
		if d := r.dipped[ep]; d != "" {
			fmt.Fprintf(w, "  short:   %s\n", d)
		}
		if r.late != nil {
			fmt.Fprintf(w, "  late:    %.0f calls came to their slot more than the limiter's MaxLate late and took a fresh one\n", r.late[ep])
		}
	}
	fmt.Fprintf(w, "ledger: billed=%d requests=%d duplicates=%d by_status=%v max_per_second=%v\n",
		r.ledger.TotalBilled, r.ledger.Requests, len(r.ledger.Duplicates), r.ledger.ByStatus, r.ledger.MaxPerSecond)
	for i, l := range r.twice {
		if i == 5 {
			fmt.Fprintf(w, "  … and %d more uuids billed more than once\n", len(r.twice)-i)
			break
		}
		fmt.Fprintf(w, "  billed twice: %s\n", l)
	}
	if len(r.twice) > 0 {
		fmt.Fprintf(w, "extra billed calls not marked billed or possibly billed: %d\n", r.unmarked)
	}
	if r.ledger.Requests > 0 {
		fmt.Fprintf(w, "throttled: %d of %d requests (%.2f %%)\n", r.ledger.ByStatus["429"], r.ledger.Requests,
			100*float64(r.ledger.ByStatus["429"])/float64(r.ledger.Requests))
	}
}

// run sets up a private world, runs the batch and measures it.
func run(ctx context.Context, o options) (result, error) {
	setup := time.Now()
	dir, err := os.MkdirTemp("", "ivsbatch-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	dbURL, dropDB, err := servers.CreateDatabase(ctx, "ivsbatch_bench")
	if err != nil {
		return result{}, err
	}
	defer dropDB()
	redisAddr, redisCmd, err := servers.StartRedis(ctx, dir)
	if err != nil {
		return result{}, err
	}
	defer func() { _ = redisCmd.Process.Kill(); _ = redisCmd.Wait() }()
	pop, err := e2e.Build(ctx, e2e.Options{Seed: o.seed, Records: o.records, Videos: -1, Plain: true, Shapes: o.shapes})
	if err != nil {
		return result{}, err
	}
	if err := pop.WriteFiles(dir); err != nil {
		return result{}, err
	}
	sim, err := ivssim.New(ivssim.Config{
		Credentials: []ivssim.Credential{{AK: simAK, SK: simSK}}, Registry: pop.Registry,
		Quota: o.quota, Latency: ivssim.Latency{Fixed: o.latency}, Logger: o.logger(),
	})
	if err != nil {
		return result{}, err
	}
	var arr arrivals
	srv := httptest.NewServer(arr.wrap(sim.Handler()))
	defer srv.Close()
	defer sim.Close()
	st, batch, err := submit(ctx, dbURL, pop, dir)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	w := world{dbURL: dbURL, redis: redisAddr, simURL: srv.URL, dir: dir}
	if o.procs {
		if w.bin, err = buildWorker(ctx, dir); err != nil {
			return result{}, err
		}
	}
	res := result{records: len(pop.Rows), setupDur: time.Since(setup)}
	start := time.Now()
	stopWorkers, metricsAddrs, err := startWorkers(ctx, o, w)
	if err != nil {
		return result{}, err
	}
	defer stopWorkers()
	recs, err := waitTerminal(ctx, st, batch, len(pop.Rows))
	if err != nil {
		return result{}, err
	}
	res.elapsed = time.Since(start)
	if metricsAddrs != nil {
		if res.late, err = lateCalls(ctx, metricsAddrs); err != nil {
			return result{}, err
		}
	}
	if res.endpoints, res.rates, err = endpointRates(ctx, st); err != nil {
		return result{}, err
	}
	if res.sent, err = sendTimes(ctx, st, int(o.quota)); err != nil {
		return result{}, err
	}
	res.arrived, res.dipped = arr.summary(o.quota)
	res.counts, res.ledger = map[pipeline.Status]int{}, sim.Ledger()
	if res.twice, res.unmarked, err = billedTwice(ctx, st, res.ledger); err != nil {
		return result{}, err
	}
	want := pop.Expected()
	for _, r := range recs {
		res.counts[r.Status]++
		if e := want[r.Ref]; r.Status != e.Status || r.Code == nil || *r.Code != e.Code {
			res.wrong++
			if res.wrong <= 5 {
				fmt.Fprintf(os.Stderr, "wrong outcome: %s: %s %v %s %s; want %s %d\n", r.Ref, r.Status, r.Code,
					r.LastErrorCode, r.LastErrorMessage, e.Status, e.Code)
			}
		}
	}
	return res, nil
}

// benchKeyEnv holds random keys for this run's personal data, in the form
// worker processes read from their environment.
var benchKeyEnv = func() []string {
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	return []string{"IVSBATCH_PII_KEYS=bench:" + base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(index)}
}()

var benchKeys = func() *pii.Keyring {
	env := map[string]string{}
	for _, kv := range benchKeyEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	k, err := config.Keyring(func(s string) string { return env[s] })
	if err != nil {
		panic(err)
	}
	return k
}()

// world is where the workers find their servers.
type world struct{ dbURL, redis, simURL, dir, bin string }

func submit(ctx context.Context, dbURL string, pop *e2e.Population, dir string) (*store.Store, int64, error) {
	st, err := store.Open(ctx, dbURL, store.WithKeyring(benchKeys))
	if err != nil {
		return nil, 0, err
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, pop.ManifestCSV("file://"+filepath.ToSlash(dir)+"/"), 0o644); err != nil {
		st.Close()
		return nil, 0, err
	}
	objs, err := objstore.New(ctx, objstore.Config{MediaRoot: dir})
	if err != nil {
		st.Close()
		return nil, 0, err
	}
	sum, err := ingest.Submit(ctx, st, ingest.ObjectOrFile(objs), path, ingest.SubmitOptions{Name: "bench", CheckRef: objs.CheckRef})
	if err != nil {
		st.Close()
		return nil, 0, err
	}
	if sum.Inserted != len(pop.Rows) {
		st.Close()
		return nil, 0, fmt.Errorf("submit stored %d of %d records (bad rows %v)", sum.Inserted, len(pop.Rows), sum.Bad)
	}
	return st, sum.BatchID, nil
}

func waitTerminal(ctx context.Context, st *store.Store, batch int64, n int) ([]*pipeline.Record, error) {
	for {
		c, err := st.BatchCounts(ctx, batch)
		if err != nil {
			return nil, err
		}
		if c.Total == n && c.Open() == 0 {
			return st.ListRecords(ctx, batch)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the batch (%v): %w", c, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
