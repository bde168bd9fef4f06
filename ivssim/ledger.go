package ivssim

import (
	"maps"
	"strconv"
	"sync"
)

// Ledger is the simulator's billing record since start or the last reset.
// Only HTTP 200 answers are billed, each once per meta.uuid occurrence.
type Ledger struct {
	TotalBilled  int            `json:"total_billed"`
	Duplicates   map[string]int `json:"duplicates"`     // uuid → times billed, only uuids billed more than once
	BilledByUUID map[string]int `json:"billed_by_uuid"` // uuid → times billed
	ByStatus     map[string]int `json:"by_status"`      // "200", "400", …; "dropped" for closed connections
	ByCode       map[string]int `json:"by_code"`        // verification code of a 200 ("1000") or error code ("IVS.0101")
	MaxPerSecond map[string]int `json:"max_per_second"` // endpoint path → highest accepted in any one-second window
	Requests     int            `json:"requests"`       // requests to the two IVS endpoints
	TokensIssued int            `json:"tokens_issued"`  // IAM tokens issued since start (not reset)
}

type ledger struct {
	mu       sync.Mutex
	billed   map[string]int
	byStatus map[string]int
	byCode   map[string]int
	requests int
	other    int
}

func newLedger() *ledger {
	return &ledger{billed: map[string]int{}, byStatus: map[string]int{}, byCode: map[string]int{}}
}

func (l *ledger) countRequest() {
	l.mu.Lock()
	l.requests++
	l.mu.Unlock()
}

func (l *ledger) countOther() {
	l.mu.Lock()
	l.other++
	l.mu.Unlock()
}

// record counts one answer; a 200 bills uuid.
func (l *ledger) record(status string, code, uuid string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byStatus[status]++
	if code != "" {
		l.byCode[code]++
	}
	if status == "200" {
		l.billed[uuid]++
	}
}

func (l *ledger) snapshot() Ledger {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := Ledger{
		Duplicates:   map[string]int{},
		BilledByUUID: maps.Clone(l.billed),
		ByStatus:     maps.Clone(l.byStatus),
		ByCode:       maps.Clone(l.byCode),
		Requests:     l.requests,
	}
	for u, n := range l.billed {
		out.TotalBilled += n
		if n > 1 {
			out.Duplicates[u] = n
		}
	}
	return out
}

func (l *ledger) reset() {
	l.mu.Lock()
	l.billed, l.byStatus, l.byCode = map[string]int{}, map[string]int{}, map[string]int{}
	l.requests, l.other = 0, 0
	l.mu.Unlock()
}

// Ledger returns a snapshot of the billing ledger.
func (s *Server) Ledger() Ledger {
	out := s.ledger.snapshot()
	out.MaxPerSecond = s.quota.maxima()
	out.TokensIssued = s.tokens.count()
	return out
}

// ResetLedger clears the ledger and the per-second maxima (not the quota
// window itself, nor issued tokens).
func (s *Server) ResetLedger() {
	s.ledger.reset()
	s.quota.resetMaxima()
}

func statusKey(status int) string { return strconv.Itoa(status) }
