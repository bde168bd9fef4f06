package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
)

// probe inserts key into group_probe, or divides by zero when key is 0.
type probe struct {
	key  int
	runs int // times its statement ran
}

func (p *probe) Reset() {}

// execProbes runs a group as the store runs one: one transaction in one
// round trip.
func execProbes(pool *pgxpool.Pool, groups *[][]int) func(context.Context, []*probe) error {
	var mu sync.Mutex
	return func(ctx context.Context, group []*probe) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		var keys []int
		for _, p := range group {
			keys = append(keys, p.key)
			if p.key == 0 {
				b.Queue(`SELECT 1 / 0`)
				continue
			}
			b.Queue(`INSERT INTO group_probe VALUES ($1)`, p.key).Exec(func(pgconn.CommandTag) error {
				p.runs++
				return nil
			})
		}
		b.Queue("COMMIT")
		mu.Lock()
		*groups = append(*groups, keys)
		mu.Unlock()
		return pool.SendBatch(ctx, b).Close()
	}
}

func refusedWhole(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

func probeTable(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE group_probe (k int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

// waitQueued waits until n writes wait in c's queue.
func waitQueued(t *testing.T, c *Committer[*probe], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.in) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10 s; want %d", len(c.in), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes queued while a committer is busy share the next group; a group
// whose transaction Postgres refuses rolls back as a whole, each of its
// writes then runs alone, exactly once, and only the faulty one fails.
func TestGroupFallsBackToSingleWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := probeTable(t)
	var groups [][]int
	exec := execProbes(pool, &groups)
	// One committer, held busy by a first write until the others are queued.
	started, release := make(chan struct{}), make(chan struct{})
	first := true
	c := Start(func(ctx context.Context, g []*probe) error {
		if first {
			first = false
			close(started)
			<-release
		}
		return exec(ctx, g)
	}, Config{Committers: 1, RetryAlone: refusedWhole})
	defer c.Close()
	ws := []*probe{{key: 9}, {key: 1}, {key: 0}, {key: 2}}
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = c.Write(ctx, ws[0]) }()
	<-started
	for i, w := range ws[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i+1] = c.Write(ctx, w) }()
		waitQueued(t, c, i+1) // queued in this order
	}
	close(release)
	wg.Wait()
	var pgErr *pgconn.PgError
	if errs[0] != nil || errs[1] != nil || errs[3] != nil || !errors.As(errs[2], &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("results %v; want only the third write to fail, with division by zero", errs)
	}
	// The group [1 0 2] ran once (1 ran and was rolled back; the server
	// skipped 2 after the error), then each write alone.
	want := [][]int{{9}, {1, 0, 2}, {1}, {0}, {2}}
	if len(groups) != len(want) {
		t.Fatalf("groups %v; want %v", groups, want)
	}
	for i := range want {
		if len(groups[i]) != len(want[i]) {
			t.Fatalf("groups %v; want %v", groups, want)
		}
	}
	if ws[1].runs != 2 || ws[3].runs != 1 {
		t.Fatalf("runs %d, %d; want 2 (group, alone) and 1 (alone)", ws[1].runs, ws[3].runs)
	}
	rows, _ := pool.Query(ctx, `SELECT k FROM group_probe ORDER BY k`)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(keys) != 3 || keys[0] != 1 || keys[1] != 2 || keys[2] != 9 {
		t.Fatalf("rows %v (%v); want 1, 2 and 9 once each", keys, err)
	}
}

// A write queued after Close does not run; a caller that gives up before
// its write is taken leaves nothing behind.
func TestClosedAndCancelled(t *testing.T) {
	t.Parallel()
	ran := 0
	started, release := make(chan struct{}), make(chan struct{})
	c := Start(func(ctx context.Context, g []*probe) error {
		close(started)
		<-release
		ran += len(g)
		return nil
	}, Config{Committers: 1})
	busy := make(chan error)
	go func() { busy <- c.Write(context.Background(), &probe{key: 1}) }()
	<-started // taken: the committer waits on release
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Write(ctx, &probe{key: 2}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write given up: %v; want its context's error", err)
	}
	close(release)
	if err := <-busy; err != nil {
		t.Fatalf("write taken: %v", err)
	}
	c.Close()
	if err := c.Write(context.Background(), &probe{key: 3}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v; want ErrClosed", err)
	}
	if ran != 1 {
		t.Fatalf("%d writes ran; want the first only", ran)
	}
}
