package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ivsbatch/ivsbatch/store"
)

// runTimed runs a command to completion and returns its wall time and peak
// RSS (MB, from wait4's rusage).
func runTimed(ctx context.Context, env []string, out io.Writer, name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return wall, 0, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String()))
	}
	return wall, maxRSS(cmd), nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// maxRSS is a finished command's peak resident set in MB.
func maxRSS(cmd *exec.Cmd) float64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

// cpuSeconds is the user + system CPU time a live process has used.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	// after "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based)
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

// cpuSample is CPU seconds used so far by each group of processes.
type cpuSample map[string]float64

// sampleCPU reads the CPU time of the workers, Redis, the simulator and
// this database's Postgres backends.
func sampleCPU(ctx context.Context, st *store.Store, groups map[string][]int) cpuSample {
	out := cpuSample{}
	for g, pids := range groups {
		for _, p := range pids {
			out[g] += cpuSeconds(p)
		}
	}
	rows, err := st.Pool().Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid()`)
	if err == nil {
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) == nil {
				out["postgres backends"] += cpuSeconds(pid)
				out["pg:"+strconv.Itoa(pid)] = cpuSeconds(pid)
			}
		}
		rows.Close()
	}
	return out
}

// cpuShares is each group's CPU over the interval, in cores. Backends seen
// only in one sample count from zero (new) or not at all (gone).
func cpuShares(a, b cpuSample, wall time.Duration) map[string]float64 {
	out := map[string]float64{}
	for k, v := range b {
		if strings.HasPrefix(k, "pg:") || k == "postgres backends" {
			continue
		}
		out[k] = (v - a[k]) / wall.Seconds()
	}
	for k, v := range b {
		if strings.HasPrefix(k, "pg:") {
			out["postgres backends"] += (v - a[k]) / wall.Seconds()
		}
	}
	return out
}

// timeN runs fn n times and returns the median and the maximum duration.
func timeN(n int, fn func() error) (med, worst time.Duration, err error) {
	var ds []time.Duration
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1], nil
}

// scrape fetches a worker's /metrics.
func scrape(ctx context.Context, addr string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("ivsbatch_records{")) {
		return fmt.Errorf("scrape: status %d, no ivsbatch_records", resp.StatusCode)
	}
	if bytes.Contains(b, []byte("ivsbatch_metrics_scrape_errors_total{")) {
		return fmt.Errorf("scrape reported errors")
	}
	return nil
}

// saveProfile takes a CPU profile of a worker into dir/worker.pprof.
func saveProfile(ctx context.Context, addr, dir string, d time.Duration) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(dir + "/worker.pprof")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// topOfProfile returns pprof's top lines of dir/worker.pprof.
func topOfProfile(ctx context.Context, bin, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", bin, dir+"/worker.pprof").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w\n%s", err, out)
	}
	return string(out), nil
}
