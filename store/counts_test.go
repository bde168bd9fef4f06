package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

var allStatuses = append(append([]pipeline.Status{}, pipeline.OpenStatuses...), pipeline.TerminalStatuses...)

// The counts kept by the triggers equal count(*) after concurrent inserts
// (COPY), status changes (outcomes with verdicts and error codes), deletes,
// rolled-back transactions and compactions.
func TestCountsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	pool := st.Pool()
	var batches []int64
	for i := range 2 {
		b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "c", ManifestSHA256: fmt.Sprintf("counts-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b.ID)
	}
	deadline := time.Now().Add(3 * time.Second)
	g, gctx := errgroup.WithContext(ctx)
	// retryable: a conflict between two writers aborts one transaction,
	// which is part of what the counts must survive.
	retryable := func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
	}
	for w := range 2 { // COPY writers
		g.Go(func() error {
			for i := 0; time.Now().Before(deadline); i++ {
				b := batches[i%len(batches)]
				rows := make([][]any, 50)
				for j := range rows {
					rows[j] = []any{b, fmt.Sprintf("w%d-%d-%d", w, i, j), j + 2, "name"}
				}
				err := pgx.BeginFunc(gctx, pool, func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(gctx, pgx.Identifier{"records"}, []string{"batch_id", "ref", "line", "shape"},
						pgx.CopyFromRows(rows))
					if err == nil && i%7 == 0 {
						return errRollback
					}
					return err
				})
				if err != nil && !errors.Is(err, errRollback) {
					return fmt.Errorf("copy: %w", err)
				}
			}
			return nil
		})
	}
	for w := range 3 { // status changers, the way workers and operators write
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(deadline) {
				to := allStatuses[rng.IntN(len(allStatuses))]
				var code, verdict any
				var vcode any
				switch rng.IntN(3) {
				case 0:
					code = []string{"IVS.0101", "APIG.0201", "infra.fetch"}[rng.IntN(3)]
				case 1:
					verdict, vcode = "valid", 1000
				}
				err := pgx.BeginFunc(gctx, pool, func(tx pgx.Tx) error {
					_, err := tx.Exec(gctx, `UPDATE records SET status = $1, last_error_code = $2, verdict = $3,
						verification_code = $4, updated_at = now()
						WHERE id IN (SELECT id FROM records WHERE batch_id = $5 ORDER BY random() LIMIT $6 FOR UPDATE SKIP LOCKED)`,
						string(to), code, verdict, vcode, batches[rng.IntN(len(batches))], 1+rng.IntN(20))
					if err == nil && rng.IntN(5) == 0 {
						return errRollback
					}
					return err
				})
				if err != nil && !errors.Is(err, errRollback) && !retryable(err) {
					return fmt.Errorf("update: %w", err)
				}
			}
			return nil
		})
	}
	g.Go(func() error { // deletes
		for time.Now().Before(deadline) {
			_, err := pool.Exec(gctx, `DELETE FROM records WHERE id IN (SELECT id FROM records ORDER BY random() LIMIT 10
				FOR UPDATE SKIP LOCKED)`)
			if err != nil && !retryable(err) {
				return fmt.Errorf("delete: %w", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	})
	g.Go(func() error { // compactions, besides the triggers' own
		for time.Now().Before(deadline) {
			if err := st.CompactCounts(gctx); err != nil && !retryable(err) {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	total := 0
	for _, b := range batches {
		got, err := st.BatchCounts(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		want := countByStatus(t, pool, `WHERE batch_id = $1`, b)
		if diff := cmp.Diff(want, got.ByStatus); diff != "" {
			t.Errorf("batch %d counts (-count(*) +kept):\n%s", b, diff)
		}
		total += got.Total
		bs, err := st.GetBatchStatus(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		wantVerdict, wantError := verdictsAndErrors(t, pool, b)
		if diff := cmp.Diff(wantVerdict, bs.ByVerdict); diff != "" {
			t.Errorf("batch %d by verdict (-count(*) +kept):\n%s", b, diff)
		}
		if diff := cmp.Diff(wantError, bs.ByError); diff != "" {
			t.Errorf("batch %d by error (-count(*) +kept):\n%s", b, diff)
		}
	}
	if total < 1000 {
		t.Fatalf("only %d records written: the test exercised too little", total)
	}
	all, err := st.StatusCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(countByStatus(t, pool, ``), all); diff != "" {
		t.Errorf("status counts (-count(*) +kept):\n%s", diff)
	}
	// Compaction leaves at most one row per key and the same sums.
	if err := st.CompactCounts(ctx); err != nil {
		t.Fatal(err)
	}
	var dup int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM record_counts
		GROUP BY batch_id, status, verification_code, verdict, code HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Fatalf("after compaction %d keys have several rows (%v)", dup, err)
	}
	if all2, err := st.StatusCounts(ctx); err != nil || !cmp.Equal(all, all2) {
		t.Fatalf("compaction changed the counts: %v → %v (%v)", all, all2, err)
	}
}

var errRollback = errors.New("roll back on purpose")

func countByStatus(t *testing.T, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, where string, args ...any) map[pipeline.Status]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT status, count(*)::int FROM records `+where+` GROUP BY status`, args...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[pipeline.Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[pipeline.Status(s)] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

func verdictsAndErrors(t *testing.T, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, batch int64) (map[store.VerdictKey]int, map[string]int) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT verification_code, verdict, coalesce(last_error_code, ''), count(*)::int
		FROM records WHERE batch_id = $1 AND status = ANY ($2) GROUP BY 1, 2, 3`,
		batch, pipeline.StatusStrings(pipeline.TerminalStatuses))
	if err != nil {
		t.Fatal(err)
	}
	verdicts, errs := map[store.VerdictKey]int{}, map[string]int{}
	for rows.Next() {
		var (
			vcode *int
			v     *string
			c     string
			n     int
		)
		if err := rows.Scan(&vcode, &v, &c, &n); err != nil {
			t.Fatal(err)
		}
		if vcode != nil && v != nil {
			verdicts[store.VerdictKey{Code: *vcode, Verdict: *v}] += n
		} else if c != "" {
			errs[c] += n
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return verdicts, errs
}
