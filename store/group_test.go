package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
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

// A group of claims is one statement; two tasks of one record in a group
// (a redelivery) do not both get it, and a task of another generation gets
// nothing (claimSQL then explains why).
func TestGroupedClaims(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, testenv.PostgresURL(t), WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "claims", ManifestSHA256: "claims"})
	if err != nil {
		t.Fatal(err)
	}
	in := func(ref string) NewRecord {
		return NewRecord{Input: pipeline.Input{Ref: ref, Line: 2, Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}}
	}
	if _, err := st.InsertInputs(ctx, b.ID, []NewRecord{in("a"), in("b"), in("c")}); err != nil {
		t.Fatal(err)
	}
	refs, err := st.ClaimPending(ctx, pipeline.EndpointExtention, 3)
	if err != nil || len(refs) != 3 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	stale := refs[2]
	stale.Generation++
	var group []*groupWrite
	for _, ref := range []pipeline.TaskRef{refs[0], refs[0], refs[1], stale} {
		group = append(group, &groupWrite{claim: &claimWrite{ref: ref}})
	}
	if err := st.claimQueued(ctx, group); err != nil {
		t.Fatal(err)
	}
	got := func(i int) *pipeline.Record { return group[i].claim.rec }
	switch {
	case got(0) == nil || got(0).ID != refs[0].RecordID || got(0).Name != "张伟" || got(0).Status != pipeline.StatusInFlight:
		t.Fatalf("first task: %+v", got(0))
	case got(1) != nil:
		t.Fatalf("the redelivered task got the record too")
	case got(2) == nil || got(2).ID != refs[1].RecordID:
		t.Fatalf("second record: %+v", got(2))
	case got(3) != nil:
		t.Fatalf("a task of another generation got its record: %+v", got(3))
	}
	if _, err := st.Claim(ctx, stale); !errors.Is(err, pipeline.ErrStaleGeneration) {
		t.Fatalf("claim of another generation: %v; want ErrStaleGeneration", err)
	}
	if r, _ := st.GetRecord(ctx, refs[2].RecordID); r.Status != pipeline.StatusQueued {
		t.Fatalf("record of the stale task is %s; want queued", r.Status)
	}
}
