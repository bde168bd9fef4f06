package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// arrivals records when each IVS request reached the simulator, per
// endpoint: the spacing the gateway's sliding window actually sees.
type arrivals struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (a *arrivals) wrap(h http.Handler) http.Handler {
	a.at = map[string][]time.Time{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == string(pipeline.EndpointStandard) || p == string(pipeline.EndpointExtention) {
			now := time.Now()
			a.mu.Lock()
			a.at[p] = append(a.at[p], now)
			a.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// summary describes, per endpoint, the arrivals' spacing (see spacingOf)
// and the seconds in which fewer requests arrived than the quota allows (see
// dips).
func (a *arrivals) summary(quota float64) (spacing, short map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	spacing, short = map[string]string{}, map[string]string{}
	for ep, ts := range a.at {
		spacing[ep], short[ep] = spacingOf(ts, int(quota)), dips(ts, quota)
	}
	return spacing, short
}

// sendTimes reads, per endpoint, when the workers marked each attempt sent
// (just after the limiter's grant): the spacing the limiter produced.
func sendTimes(ctx context.Context, st *store.Store, limit int) (map[string]string, error) {
	rows, err := st.Pool().Query(ctx, `SELECT endpoint, started_at FROM attempts WHERE state = 'finished' ORDER BY started_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ts := map[string][]time.Time{}
	for rows.Next() {
		var ep string
		var t time.Time
		if err := rows.Scan(&ep, &t); err != nil {
			return nil, err
		}
		ts[ep] = append(ts[ep], t)
	}
	out := map[string]string{}
	for ep, t := range ts {
		out[ep] = spacingOf(t, limit)
	}
	return out, rows.Err()
}

// spacingOf summarises request times: the gaps between neighbours, and the
// span of every limit+1 consecutive requests (under 1 s, a sliding one-second
// window would have held more than limit of them; limit ≤ 0: 10). busiest is
// the most requests within any one second.
func spacingOf(ts []time.Time, limit int) string {
	if limit <= 0 {
		limit = 10
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	if len(ts) < limit+2 {
		return fmt.Sprintf("%d requests", len(ts))
	}
	var gaps, spans []time.Duration
	short := 0
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]))
		if i >= limit {
			s := ts[i].Sub(ts[i-limit])
			spans = append(spans, s)
			if s <= time.Second {
				short++
			}
		}
	}
	long := 0 // time lost in gaps of more than 200 ms (demand ran dry, or a back-off)
	for _, g := range gaps {
		if g > 200*time.Millisecond {
			long += int(g / time.Millisecond)
		}
	}
	slices.Sort(gaps)
	slices.Sort(spans)
	q := func(d []time.Duration, p float64) time.Duration {
		return d[int(p*float64(len(d)-1))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("gap p1/p50/p99/max %s/%s/%s/%s (%.1fs in gaps > 200ms); %d-request span min/p1/p50 %s/%s/%s, ≤1s: %d of %d; busiest second %d",
		q(gaps, 0.01), q(gaps, 0.5), q(gaps, 0.99), q(gaps, 1), float64(long)/1000, limit+1,
		q(spans, 0), q(spans, 0.01), q(spans, 0.5), short, len(spans), busiest(ts))
}

// busiest is the most of the sorted times ts within any one second (a
// sliding window ending at each of them).
func busiest(ts []time.Time) int {
	most, lo := 0, 0
	for hi := range ts {
		for !ts[lo].After(ts[hi].Add(-time.Second)) {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// dips lists the whole seconds (from the first request) that held fewer than
// 95 % of the quota's requests, rounded down (at 10/s a second of 9 is the
// headroom's, not a loss), the first and the last second excepted: where the
// fleet fell behind its pace, to be read beside the workers' logs.
func dips(ts []time.Time, quota float64) string {
	if len(ts) == 0 || quota <= 0 {
		return ""
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	counts := make([]int, int(ts[len(ts)-1].Sub(ts[0])/time.Second)+1)
	for _, t := range ts {
		counts[int(t.Sub(ts[0])/time.Second)]++
	}
	var out []string
	missing := 0
	for s := 1; s < len(counts)-1; s++ {
		if float64(counts[s]) < math.Floor(0.95*quota) {
			out = append(out, fmt.Sprintf("%d:%d", s, counts[s]))
			missing += int(quota) - counts[s]
		}
	}
	return fmt.Sprintf("%d of %d seconds under 95 %% of the quota (%d requests short), from %s: %s",
		len(out), len(counts), missing, ts[0].Format("15:04:05.000"), strings.Join(out, " "))
}
