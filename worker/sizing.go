package worker

import "math"

// Sizing: what `worker run` uses when it is not told (bench/README.md, "Defaults
// for production", has the measurements behind each figure).
const (
	// MaxHandlers is the default handlers per endpoint with the quota off,
	// and the most the quota gives by default: on two cores 320 handlers
	// keep one process's CPU busy on two-factor records (160 left a quarter
	// of it idle). An image record holds its photo, base64 and request body
	// while in flight, so more handlers mostly cost memory.
	MaxHandlers = 320
	// MinHandlers is the fewest handlers per endpoint a quota gives.
	MinHandlers = 16
	// HandlerSeconds is how long a record may take in a handler, end to
	// end, while one process's default handlers still fill the quota:
	// handlers per endpoint = quota × HandlerSeconds. It is also about the
	// longest a handler waits for the shared limiter per process that has
	// more work than the quota: every waiting handler has claimed and
	// prepared its record. Measured at a 50/s quota on a loaded machine
	// (bench/README.md, "Defaults for production"): 300 handlers per
	// process (6 s) waited so long that calls timed out and arrived in
	// bursts; 30 did not.
	HandlerSeconds = 2
	// MinWindow is the fewest tasks the feeder keeps waiting per queue.
	MinWindow = 200
	// MaxPoolConns is the ceiling of a worker's default Postgres
	// connections: three processes and the operators' commands fit
	// Postgres's default max_connections (100). The per-task writes go
	// through a few group committers (store/group.go), so more connections
	// do not make a worker faster (measured: bench/README.md).
	MaxPoolConns = 20
	// MinPoolConns is the fewest default Postgres connections: the group
	// committers, the feeder, the pause listener and the metrics' queries.
	MinPoolConns = 8
	// handlersPerConn is how many handlers share one connection above
	// MinPoolConns.
	handlersPerConn = 32
)

// DefaultConcurrency is the default handlers per endpoint for a quota in
// requests/s per endpoint: quota × HandlerSeconds between MinHandlers and
// MaxHandlers, or MaxHandlers when the quota is off (≤ 0).
func DefaultConcurrency(quota float64) int {
	if quota <= 0 {
		return MaxHandlers
	}
	n := math.Ceil(quota * HandlerSeconds)
	return int(min(max(n, MinHandlers), MaxHandlers))
}

// DefaultWindow is the default of the tasks the feeder keeps waiting per
// queue: four rounds of the handlers (at least MinWindow), so that at a
// thousand records a second they never find the queue empty between two
// feeder rounds.
func DefaultWindow(concurrency int) int { return max(MinWindow, 4*concurrency) }

// PoolConns is the default size of a worker's Postgres pool for
// concurrency handlers on each of queues queues: MinPoolConns and one more
// per 32 handlers, at most MaxPoolConns.
func PoolConns(concurrency, queues int) int32 {
	n := MinPoolConns + concurrency*max(queues, 1)/handlersPerConn
	return int32(min(n, MaxPoolConns))
}
