package store_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// The console's record queries read indexes on a loaded table: a batch's
// failures with a code and its review cases through (batch_id, status), a
// ref across batches through (batch_id, ref) once per batch; none scans
// records. IVSBATCH_PLAN_ROWS sets the size (default 100,000; the README's
// figures are from 1,000,000).
func TestConsoleQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("IVSBATCH_PLAN_ROWS")); err == nil && v > 0 {
		n = v
	}
	st := storetest.Open(t)
	pool := st.Pool()
	var batches []int64
	for i := range 20 {
		b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "b", ManifestSHA256: "sha" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b.ID)
	}
	// Most records in the last batch; 1 in 1000 failed, 1 in 5000 in review.
	if _, err := pool.Exec(ctx, `INSERT INTO records (batch_id, ref, line, shape, status, last_error_code, finished_at)
		SELECT CASE WHEN i % 10 = 0 THEN $1 + (i / 10) % 19 ELSE $1 + 19 END, 'r' || i, i, 'name',
		       CASE WHEN i % 1000 = 7 THEN 'failed' WHEN i % 5000 = 9 THEN 'review' ELSE 'done' END,
		       CASE WHEN i % 1000 = 7 THEN 'IVS.0101' END, now()
		FROM generate_series(1, $2::int) i`, batches[0], n); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE records`); err != nil {
		t.Fatal(err)
	}
	plans, err := st.ExplainConsole(ctx, batches[19], "IVS.0101", "r12345")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		t.Logf("%s (%d records):\n%s", p.Name, n, p.Plan)
		if strings.Contains(p.Plan, "Seq Scan on records") {
			t.Errorf("%s scans records sequentially:\n%s", p.Name, p.Plan)
		}
	}
}
