package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
)

// A group whose transaction Postgres refuses rolls back as a whole; each of
// its writes then runs alone, exactly once, and only the faulty one fails.
func TestGroupCommitFallsBackToSingleWrites(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, testenv.PostgresURL(t), WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.pool.Exec(ctx, `CREATE TABLE group_probe (k int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(k int, runs *int) *groupWrite {
		return &groupWrite{
			queue: func(b *pgx.Batch) {
				b.Queue(`INSERT INTO group_probe VALUES ($1)`, k).Exec(func(pgconn.CommandTag) error {
					*runs++
					return nil
				})
			},
			reset: func() {},
			done:  make(chan error, 1),
		}
	}
	var runs1, runs2 int
	w1, w2 := insert(1, &runs1), insert(2, &runs2)
	bad := &groupWrite{queue: func(b *pgx.Batch) { b.Queue(`SELECT 1 / 0`) }, reset: func() {}, done: make(chan error, 1)}
	for _, w := range []*groupWrite{w1, bad, w2} {
		w.state.Store(writeTaken)
	}
	st.group.commit([]*groupWrite{w1, bad, w2})
	if err := <-w1.done; err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := <-w2.done; err != nil {
		t.Fatalf("third write: %v", err)
	}
	var pgErr *pgconn.PgError
	if err := <-bad.done; !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("faulty write: %v; want division by zero", err)
	}
	// w1 ran in the group (rolled back) and alone; w2 never ran in the
	// group (the server skipped it after the error) and ran alone.
	if runs1 != 2 || runs2 != 1 {
		t.Fatalf("runs %d, %d; want 2 (group, alone) and 1 (alone)", runs1, runs2)
	}
	rows, _ := st.pool.Query(ctx, `SELECT k FROM group_probe ORDER BY k`)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(keys) != 2 || keys[0] != 1 || keys[1] != 2 {
		t.Fatalf("rows %v (%v); want 1 and 2 once each", keys, err)
	}
}

// A write queued after Close does not run.
func TestGroupCommitAfterClose(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, testenv.PostgresURL(t), WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	ran := false
	err = st.group.write(ctx, &groupWrite{queue: func(b *pgx.Batch) { ran = true }, reset: func() {}})
	if !errors.Is(err, errStoreClosed) || ran {
		t.Fatalf("write after close: %v, ran %v; want errStoreClosed and nothing run", err, ran)
	}
}
