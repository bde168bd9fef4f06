package ivssim

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// quota is the gateway's per-endpoint limit, enforced over a sliding one
// second window: a request is accepted when fewer than limit requests were
// accepted on its endpoint in the second before it. Sliding is stricter
// than the gateway's fixed windows, so a client that passes here passes there.
type quota struct {
	limit int // ≤ 0: off

	mu     sync.Mutex
	recent map[string][]time.Time // accepted in the last second, oldest first
	max    map[string]int         // highest accepted within any one-second window
}

// newQuota rounds perSecond down (at least 1); negative turns the quota off
// (the window maximum is still measured).
func newQuota(perSecond float64) *quota {
	limit := 0
	if perSecond > 0 {
		limit = max(1, int(math.Floor(perSecond)))
	}
	return &quota{limit: limit, recent: map[string][]time.Time{}, max: map[string]int{}}
}

// allow records and accepts a request at now on endpoint, or refuses it.
func (q *quota) allow(endpoint string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	win := q.recent[endpoint]
	cut := 0
	for cut < len(win) && !win[cut].After(now.Add(-time.Second)) {
		cut++
	}
	win = win[cut:]
	if q.limit > 0 && len(win) >= q.limit {
		q.recent[endpoint] = win
		return false
	}
	win = append(win, now)
	q.recent[endpoint] = win
	q.max[endpoint] = max(q.max[endpoint], len(win))
	return true
}

func (q *quota) limitString() string { return strconv.Itoa(q.limit) }

func (q *quota) maxima() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]int, len(q.max))
	for k, v := range q.max {
		out[k] = v
	}
	return out
}

func (q *quota) resetMaxima() {
	q.mu.Lock()
	q.max = map[string]int{}
	q.mu.Unlock()
}
