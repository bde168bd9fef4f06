package ops_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ops"
)

func TestParseReconcileCron(t *testing.T) {
	from := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	for spec, want := range map[string]time.Time{
		"":                       time.Date(2026, 12, 1, 3, 0, 0, 0, time.Local),
		"* * * * *":              from.Add(time.Minute),
		"*/20 * * * * *":         from.Add(20 * time.Second),
		"CRON_TZ=UTC 30 4 * * *": time.Date(2026, 12, 1, 4, 30, 0, 0, time.UTC),
	} {
		s, err := ops.ParseReconcileCron(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if spec == "" { // the default is in the local time zone
			from := from.In(time.Local)
			want = time.Date(from.Year(), from.Month(), from.Day(), 3, 0, 0, 0, time.Local)
			if !want.After(from) {
				want = want.AddDate(0, 0, 1)
			}
		}
		if got := s.Next(from); !got.Equal(want) {
			t.Errorf("%q: next after %s is %s, want %s", spec, from, got, want)
		}
	}
	if s, err := ops.ParseReconcileCron("off"); s != nil || err != nil {
		t.Fatalf("off: %v %v", s, err)
	}
	for _, bad := range []string{"nightly", "61 * * * *", "* * *"} {
		if _, err := ops.ParseReconcileCron(bad); err == nil || !strings.Contains(err.Error(), "IVSBATCH_RECONCILE_CRON") {
			t.Errorf("%q: %v; want an error naming the variable", bad, err)
		}
	}
}

// slots is a fake SlotStore: the first claim of a slot wins, as the
// primary key of reconcile_slots makes it in Postgres.
type slots struct {
	mu   sync.Mutex
	by   map[time.Time]string
	runs map[time.Time]int64
}

func (s *slots) ClaimReconcileSlot(_ context.Context, slot time.Time, worker string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.by[slot]; ok {
		return false, nil
	}
	s.by[slot] = worker
	return true, nil
}

func (s *slots) SetReconcileSlotRun(_ context.Context, slot time.Time, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[slot] = id
	return nil
}

// Three schedulers on a one-second schedule: each slot runs once.
func TestSchedulerRunsEachSlotOnce(t *testing.T) {
	spec, err := ops.ParseReconcileCron("* * * * * *")
	if err != nil {
		t.Fatal(err)
	}
	st := &slots{by: map[time.Time]string{}, runs: map[time.Time]int64{}}
	var mu sync.Mutex
	runs := 0
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range []string{"a", "b", "c"} {
		s := &ops.Scheduler{Schedule: spec, Store: st, Worker: w, Run: func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			runs++
			return int64(runs), nil
		}}
		wg.Add(1)
		go func() { defer wg.Done(); s.Loop(ctx) }()
	}
	wg.Wait()
	if runs < 3 || runs != len(st.by) || len(st.runs) != runs {
		t.Fatalf("%d runs for %d slots (%d recorded); want one run per slot", runs, len(st.by), len(st.runs))
	}
}
