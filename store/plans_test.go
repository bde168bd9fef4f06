package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// planNode is one node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explainGeneric plans sql as a generic prepared statement (what pgx's
// statement cache runs after a few executions, where partial indexes must
// still apply) and returns its plan.
func explainGeneric(t *testing.T, pool *pgxpool.Pool, sql string, args ...string) planNode {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	c := conn.Conn()
	if _, err := c.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	defer c.Exec(ctx, `RESET plan_cache_mode`) //nolint:errcheck
	if _, err := c.Exec(ctx, `PREPARE q AS `+sql); err != nil {
		t.Fatalf("prepare %s: %v", sql, err)
	}
	defer c.Exec(ctx, `DEALLOCATE q`) //nolint:errcheck
	var out []byte
	exec := `EXPLAIN (FORMAT JSON) EXECUTE q`
	if len(args) > 0 {
		exec += "(" + strings.Join(args, ", ") + ")"
	}
	if err := c.QueryRow(ctx, exec).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("decode plan: %v", err)
	}
	return plans[0].Plan
}

// The periodic and per-record queries keep their plan shape on a loaded
// table: the feeder's claim and the recovery scans read partial indexes,
// the rate reads the batch's latest attempts, the counts never read records, and
// none scans records sequentially.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	pool := st.Pool()
	// Task claims read by key even when the plan is made on empty tables
	// (a new database) and cached while they grow.
	taskClaims := func(t *testing.T) {
		t.Helper()
		var nodes []string
		explainGeneric(t, pool, store.ClaimQueuedManySQL, "'{97,194,291}'", "'{1,1,1}'").walk(func(n planNode) {
			nodes = append(nodes, strings.TrimSpace(n.NodeType+" "+n.RelationName+" "+n.IndexName))
			if n.NodeType == "Seq Scan" || (n.IndexName != "" && n.IndexName != "records_pkey" && n.IndexName != "attempts_record") {
				t.Errorf("task claims: %s %s %s; want records by records_pkey, attempts by attempts_record",
					n.NodeType, n.RelationName, n.IndexName)
			}
		})
		if t.Failed() {
			t.Logf("plan: %s", strings.Join(nodes, " → "))
		}
	}
	taskClaims(t)
	terminal := "'{" + strings.Join(pipeline.StatusStrings(pipeline.TerminalStatuses), ",") + "}'"
	// 20,000 records in two batches: mostly finished, a few thousand
	// pending (of three shapes: the card shapes have none, the case where a
	// claim must not walk the table), a few hundred queued and in flight.
	for b := 1; b <= 2; b++ {
		if _, err := pool.Exec(ctx, `INSERT INTO batches (name, manifest_sha256) VALUES ('plan', $1)`, fmt.Sprint(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO records (batch_id, ref, line, shape, status, finished_at, updated_at)
		SELECT 1 + i % 2, 'r' || i, i, (ARRAY['name', 'card', 'name_face_image', 'card_face_image', 'name_video', 'card_video'])[1 + i % 6],
		       s, CASE WHEN s IN ('done', 'failed') THEN now() - (i || ' seconds')::interval END, now() - interval '1 hour'
		FROM generate_series(1, 20000) i,
		LATERAL (SELECT CASE WHEN i % 10 = 0 THEN 'pending' WHEN i % 97 = 0 THEN 'queued' WHEN i % 89 = 0 THEN 'in_flight'
		                     WHEN i % 13 = 0 THEN 'failed' ELSE 'done' END AS s) x`); err != nil {
		t.Fatal(err)
	}
	// Every finished record has an attempt, the latest within the minute;
	// forty other batches made 200,000 attempts over the last hour (a
	// batch is a small part of the attempts table, as in production).
	if _, err := pool.Exec(ctx, `
		INSERT INTO attempts (record_id, batch_id, generation, uuid, endpoint, started_at, state, finished_at, billed)
		SELECT id, batch_id, 1, 'rec-' || id || '-g1', 'x', finished_at - interval '1 second', 'finished', finished_at, true
		FROM records WHERE finished_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO batches (name, manifest_sha256) SELECT 'other', 'other' || i FROM generate_series(1, 40) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO attempts (record_id, batch_id, generation, uuid, endpoint, started_at, state, billed)
		SELECT 1 + i % 20000, 3 + i % 40, 1, 'other-' || i, 'x', now() - (i * 18 || ' milliseconds')::interval, 'finished', true
		FROM generate_series(1, 200000) i`); err != nil {
		t.Fatal(err)
	}
	// Without column statistics (as right after a submit; VACUUM only counts
	// the rows) the rate still reads the batch's latest attempts through
	// attempts_batch_started, not every attempt of the batch.
	for _, table := range []string{"records", "attempts"} {
		if _, err := pool.Exec(ctx, `VACUUM `+table); err != nil {
			t.Fatal(err)
		}
	}
	progress := func(t *testing.T) {
		t.Helper()
		var nodes []string
		used := false
		explainGeneric(t, pool, store.BatchProgressSQL, "1", "60", terminal).walk(func(n planNode) {
			nodes = append(nodes, strings.TrimSpace(n.NodeType+" "+n.RelationName+" "+n.IndexName))
			used = used || n.IndexName == "attempts_batch_started"
			if n.NodeType == "Seq Scan" && (n.RelationName == "records" || n.RelationName == "attempts") {
				t.Errorf("progress scans %s sequentially", n.RelationName)
			}
		})
		if !used {
			t.Errorf("progress: %s; want attempts_batch_started", strings.Join(nodes, " → "))
		}
	}
	progress(t)
	if _, err := pool.Exec(ctx, `ANALYZE records; ANALYZE record_counts; ANALYZE attempts`); err != nil {
		t.Fatal(err)
	}
	progress(t)
	taskClaims(t)
	open := "'{" + strings.Join(pipeline.StatusStrings(pipeline.OpenStatuses), ",") + "}'"
	held := "'{paused,cancelled}'"
	old := "'" + time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339) + "'"
	cases := []struct {
		name, sql string
		args      []string
		index     string // must be used; "" = records must not be read at all
	}{
		{"claim standard", store.ClaimPendingSQL[pipeline.EndpointStandard], []string{"100"}, "records_pending_name_face_image"},
		{"claim extention", store.ClaimPendingSQL[pipeline.EndpointExtention], []string{"100"}, "records_pending_name"},
		{"in flight since", store.InFlightSinceSQL, []string{old}, "records_open"},
		{"lost-task recovery", store.ListOpenSQL, []string{"0", old, "500"}, "records_open_id"},
		{"task claims", store.ClaimQueuedManySQL, []string{"'{97,194,291}'", "'{1,1,1}'"}, "attempts_record"},
		{"batch counts", store.BatchCountsSQL, []string{"1"}, ""},
		{"status counts", store.StatusCountsSQL, nil, ""},
		{"open batches", store.OpenBatchesSQL, []string{open}, ""},
		{"verdicts", store.BatchVerdictsSQL, []string{"1", terminal}, ""},
		{"list batches", store.ListBatchesSQL, []string{open, held, "''", "NULL", "''", "50", "0"}, ""},
		{"list batches, next page", store.ListBatchesSQL, []string{open, held, "''", "NULL", "''", "50", "1000"}, ""},
		{"settle batches", store.SettleBatchesSQL, []string{open}, ""},
		{"review queue", store.ListReviewSQL, []string{"0", "0", "50"}, "records_review"},
		{"find by ref", store.FindByRefSQL, []string{"'r77'", "20"}, "records_batch_id_ref_key"},
	}
	// ExplainPeriodic runs the same queries with EXPLAIN ANALYZE and rolls
	// the claims back.
	var pendingBefore, pendingAfter int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE status = 'pending'`).Scan(&pendingBefore)
	explained, err := st.ExplainPeriodic(ctx, 1)
	if err != nil || len(explained) < 7 {
		t.Fatalf("explain: %d plans, %v", len(explained), err)
	}
	for _, e := range explained {
		if !strings.Contains(e.Plan, "Execution Time") || strings.Contains(e.Plan, "Seq Scan on records") {
			t.Errorf("%s:\n%s", e.Name, e.Plan)
		}
	}
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE status = 'pending'`).Scan(&pendingAfter)
	if pendingBefore != pendingAfter || pendingBefore == 0 {
		t.Fatalf("pending %d → %d: the explained claims were not rolled back", pendingBefore, pendingAfter)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := explainGeneric(t, pool, c.sql, c.args...)
			var usedIndex, readsRecords bool
			var nodes []string
			plan.walk(func(n planNode) {
				nodes = append(nodes, strings.TrimSpace(n.NodeType+" "+n.RelationName+" "+n.IndexName))
				if n.RelationName == "records" {
					readsRecords = true
					if n.NodeType == "Seq Scan" {
						t.Errorf("sequential scan of records")
					}
				}
				if n.IndexName == c.index {
					usedIndex = true
				}
			})
			if c.index == "" && readsRecords {
				t.Errorf("reads records; want the count deltas only")
			}
			if c.index != "" && !usedIndex {
				t.Errorf("does not use %s", c.index)
			}
			if strings.HasPrefix(c.name, "claim") { // every shape of the endpoint from its own index
				ep := pipeline.EndpointStandard
				if c.name == "claim extention" {
					ep = pipeline.EndpointExtention
				}
				for _, sh := range store.ShapesOf(ep) {
					if !slices.Contains(nodes, "Index Scan records records_pending_"+sh) &&
						!slices.Contains(nodes, "Index Only Scan records records_pending_"+sh) {
						t.Errorf("shape %s not claimed through records_pending_%s", sh, sh)
					}
				}
			}
			if t.Failed() {
				t.Logf("plan: %s", strings.Join(nodes, " → "))
			}
		})
	}
}
