package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Identical inputs within a batch: the first record is the one to call, the
// second waits while it is on its way and reuses its verdict once final.
// Across batches only a reusable verdict within the window is reused; a
// record forced to re-verify is always the one to call.
func TestDedupIdenticalInputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	opsBatch(t, st, 2)
	digest := sha256.Sum256([]byte("same inputs"))
	d := digest[:]
	a := finishAs(t, st, pipeline.StatusInFlight, "")
	b := finishAs(t, st, pipeline.StatusInFlight, "")
	decide := func(r *pipeline.Record, window time.Duration) (int64, bool) {
		t.Helper()
		prior, wait, err := st.Dedup(ctx, r, [][]byte{d}, window)
		if err != nil {
			t.Fatal(err)
		}
		if prior != nil {
			return prior.ID, wait
		}
		return 0, wait
	}
	if p, wait := decide(a, time.Hour); p != 0 || wait {
		t.Fatalf("first record: prior %d, wait %v; want to call", p, wait)
	}
	if p, wait := decide(b, time.Hour); p != 0 || !wait {
		t.Fatalf("identical record while the first is on its way: prior %d, wait %v; want to wait", p, wait)
	}
	code := 3001 // not reusable across batches, reused within its own
	if err := st.Finish(ctx, pipeline.Outcome{RecordID: a.ID, Generation: 1, Status: pipeline.StatusReview, CountAttempt: true,
		Verdict: pipeline.Verdict{Result: "nonexistent", Code: &code}}); err != nil {
		t.Fatal(err)
	}
	if p, wait := decide(b, time.Hour); p != a.ID || wait {
		t.Fatalf("after the first got its verdict: prior %d, wait %v; want %d", p, wait, a.ID)
	}
	other := opsBatchNamed(t, st, "other")
	c := finishAs(t, st, pipeline.StatusInFlight, "")
	if c.BatchID != other {
		t.Fatalf("claimed record %d of batch %d, want batch %d", c.ID, c.BatchID, other)
	}
	if p, wait := decide(c, time.Hour); p != 0 || wait {
		t.Fatalf("another batch, a 3001 verdict: prior %d, wait %v; want to call", p, wait)
	}
	code = 1000
	if err := st.Finish(ctx, pipeline.Outcome{RecordID: c.ID, Generation: 1, Status: pipeline.StatusDone, CountAttempt: true,
		Verdict: pipeline.Verdict{Result: "valid", Code: &code}}); err != nil {
		t.Fatal(err)
	}
	opsBatchNamed(t, st, "third")
	e := finishAs(t, st, pipeline.StatusInFlight, "")
	if p, _ := decide(e, -1); p != 0 {
		t.Errorf("window off: reused %d across batches", p)
	}
	if p, _ := decide(e, time.Hour); p != c.ID {
		t.Errorf("a valid verdict of identical inputs within the window: prior %d, want %d", p, c.ID)
	}
	e.Reverify = true
	if p, wait := decide(e, time.Hour); p != 0 || wait {
		t.Errorf("forced re-verification: prior %d, wait %v; want to call", p, wait)
	}
}

// Both dedup look-ups find rows through the digest index, so their cost
// does not grow with the table, whatever the statistics say: here they were
// taken as a submit takes them (AnalyzeRecords, every record pending and
// without a digest) and the run then finished 15,000 of 20,000 records, as
// in a batch verified before autovacuum's next ANALYZE. Before the
// candidates were materialized, the generic plan scanned records and the
// custom one read every finished record of the batch (15 ms each). Checked
// with a rotation's digests, as a generic plan (what pgx's statement cache
// runs) and a custom one.
func TestDedupLookupsUseDigestIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	pool := st.Pool()
	batch := opsBatch(t, st, 1)
	for _, q := range []string{
		`ALTER TABLE records SET (autovacuum_enabled = false)`, // the statistics stay as taken below
		`INSERT INTO records (batch_id, ref, line, shape, status, input_digest, verdict, verification_code, finished_at)
		 SELECT $1, 'g' || i, i, 'name', 'pending', NULL, NULL, NULL, NULL FROM generate_series(1, 20000) i`,
		"analyze",
		`UPDATE records SET status = 'done', input_digest = sha256(line::text::bytea), verdict = 'valid',
		        verification_code = 1000, finished_at = now()
		 WHERE batch_id = $1 AND line <= 15000`,
	} {
		if q == "analyze" {
			if err := st.AnalyzeRecords(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, batch)
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	d := sha256.Sum256([]byte("42"))
	open, final := pipeline.StatusStrings(pipeline.OpenStatuses), pipeline.StatusStrings(pipeline.TerminalStatuses)
	// Four digests: each index key's, tagged and as stored before tags (a
	// rotation of the index key).
	args := []any{[][]byte{d[:], d[:8], d[8:], d[4:]}, int64(1), open, batch, true, final, pipeline.ReusableCodes(), 3600.0}
	literals := []string{`ARRAY['\x` + hex.EncodeToString(d[:]) + `'::bytea, '\x` + hex.EncodeToString(d[:8]) + `'::bytea]`,
		"1", "'{" + strings.Join(open, ",") + "}'", fmt.Sprint(batch), "true", "'{" + strings.Join(final, ",") + "}'",
		"'{1000}'", "3600"}
	check := func(name string, plan planNode) {
		var nodes []string
		digest := false
		plan.walk(func(n planNode) {
			nodes = append(nodes, strings.TrimSpace(n.NodeType+" "+n.RelationName+" "+n.IndexName))
			digest = digest || n.IndexName == "records_input_digest"
			if n.RelationName == "records" && n.NodeType != "ModifyTable" && n.NodeType != "Bitmap Heap Scan" && n.IndexName != "records_input_digest" && n.IndexName != "records_pkey" {
				t.Errorf("%s plan reads records by %s %s; want records_input_digest (and the pkey for the mark)",
					name, n.NodeType, n.IndexName)
			}
		})
		if !digest || t.Failed() {
			t.Errorf("%s plan: %s", name, strings.Join(nodes, " → "))
		}
	}
	check("generic", explainGeneric(t, pool, store.DedupSQL, literals...))
	var out []byte
	if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+store.DedupSQL, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("decode plan: %v", err)
	}
	check("custom", plans[0].Plan)
}

// opsBatchNamed stores another batch of one pending record.
func opsBatchNamed(t *testing.T, st *store.Store, name string) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: name, Source: name + ".csv", ManifestSHA256: t.Name() + name})
	if err != nil {
		t.Fatal(err)
	}
	in := []store.NewRecord{{Input: pipeline.Input{Ref: "r0", Line: 2, Shape: "name", Name: "张伟", IDNumber: "11010119900307803X"}}}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	return b.ID
}
