package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// A requeue of many records works in short chunks and never locks the open
// records it skips: workers' outcome writes on the same batch, each under
// lock_timeout = 1s, all go through while it runs. The audit row holds the
// counts and the chunk range, not the ids.
func TestRequeueDoesNotBlockOutcomeWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	pool := st.Pool()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "big", ManifestSHA256: "big"})
	if err != nil {
		t.Fatal(err)
	}
	// 60,000 records, alternately failed (to re-queue) and queued (on their way).
	const n = 60000
	if _, err := pool.Exec(ctx, `INSERT INTO records (batch_id, ref, line, shape, status, last_error_code, finished_at)
		SELECT $1, 'r' || i, i, 'name', CASE WHEN i % 2 = 0 THEN 'failed' ELSE 'queued' END,
		       CASE WHEN i % 2 = 0 THEN 'IVS.0101' END, CASE WHEN i % 2 = 0 THEN now() END
		FROM generate_series(1, $2::int) i`, b.ID, n); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writes atomic.Int64
	writerErr := make(chan error, 1)
	go func() {
		// Outcome-style writes on open records, in id order like the requeue.
		var after int64
		for {
			select {
			case <-stop:
				writerErr <- nil
				return
			default:
			}
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '1s'`); err != nil {
					return err
				}
				return tx.QueryRow(ctx, `UPDATE records SET status = 'done', verdict = 'valid', verification_code = 1000,
					finished_at = now(), updated_at = now()
					WHERE id = (SELECT min(id) FROM records WHERE batch_id = $1 AND status = 'queued' AND id > $2)
					RETURNING id`, b.ID, after).Scan(&after)
			})
			if errors.Is(err, pgx.ErrNoRows) {
				after = 0
				continue
			}
			if err != nil {
				writerErr <- err
				return
			}
			writes.Add(1)
		}
	}()
	audit := &store.AuditEntry{Operator: "test", Command: "requeue", Args: map[string]any{"batch": b.ID}}
	res, err := st.Requeue(ctx, store.RequeueFilter{BatchID: b.ID}, store.RequeueOptions{Chunk: 1000}, audit)
	before := writes.Load()
	close(stop)
	if werr := <-writerErr; werr != nil {
		t.Fatalf("an outcome write waited on the requeue: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if before == 0 {
		t.Fatal("no outcome write happened during the requeue: the test proved nothing")
	}
	if res.Requeued != n/2 || res.Selected != n || res.SkippedOpen+res.SkippedVerdict != n/2 || res.Chunks != n/1000 {
		t.Fatalf("requeue: selected %d requeued %d skipped %d+%d chunks %d", res.Selected, res.Requeued,
			res.SkippedOpen, res.SkippedVerdict, res.Chunks)
	}
	var pending int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM records WHERE batch_id = $1 AND status = 'pending' AND generation = 2`,
		b.ID).Scan(&pending); err != nil || pending != n/2 {
		t.Fatalf("%d records re-queued in Postgres (%v); want %d", pending, err, n/2)
	}
	rows, err := st.ListAudit(ctx, "requeue", 1)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	r := rows[0].Result
	if r["complete"] != true || r["requeued"] != float64(n/2) || r["first_id"] == nil || r["last_id"] == nil ||
		r["chunks"] != float64(n/1000) {
		t.Fatalf("audit result: %v", r)
	}
	t.Logf("%d outcome writes during the requeue of %d records", before, res.Requeued)
}

func TestRequeueSelectsAndGuardsVerdicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := opsBatch(t, st, 6)
	f1 := finishAs(t, st, pipeline.StatusFailed, "IVS.0101")
	f2 := finishAs(t, st, pipeline.StatusFailed, "IVS.0101")
	f3 := finishAs(t, st, pipeline.StatusFailed, "IVS.0005")
	done := finishAs(t, st, pipeline.StatusDone, "")
	busy := finishAs(t, st, pipeline.StatusInFlight, "")
	// one record stays pending

	if _, err := st.Requeue(ctx, store.RequeueFilter{}, store.RequeueOptions{}, nil); !errors.Is(err, store.ErrEmptyFilter) {
		t.Fatalf("empty filter: %v", err)
	}
	audit := &store.AuditEntry{Operator: "t", Command: "requeue"}
	dry, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch, Codes: []string{"IVS.0101"}}, store.RequeueOptions{DryRun: true}, audit)
	if err != nil || dry.Requeued != 2 || dry.Selected != 2 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if r, _ := st.GetRecord(ctx, f1.ID); r.Status != pipeline.StatusFailed || r.Generation != 1 {
		t.Fatalf("dry run changed record: %s g%d", r.Status, r.Generation)
	}
	res, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch, Codes: []string{"IVS.0101"}}, store.RequeueOptions{}, audit)
	if err != nil || res.Requeued != 2 || res.ByCode["IVS.0101"] != 2 {
		t.Fatalf("requeue: %+v %v", res, err)
	}
	for _, id := range []int64{f1.ID, f2.ID} {
		r, _ := st.GetRecord(ctx, id)
		if r.Status != pipeline.StatusPending || r.Generation != 2 || r.Attempts != 0 || r.LastErrorCode != "" || r.FinishedAt != nil {
			t.Errorf("record %d after requeue: %s g%d attempts %d code %q", id, r.Status, r.Generation, r.Attempts, r.LastErrorCode)
		}
	}
	if r, _ := st.GetRecord(ctx, f3.ID); r.Status != pipeline.StatusFailed {
		t.Errorf("record with another code was re-queued")
	}
	// Every record of the batch: the open ones are skipped, the verdict too.
	all, err := st.Requeue(ctx, store.RequeueFilter{BatchID: batch}, store.RequeueOptions{}, audit)
	if err != nil || all.Requeued != 1 || all.SkippedVerdict != 1 || all.SkippedOpen != 4 {
		t.Fatalf("requeue all: %+v %v", all, err)
	}
	if r, _ := st.GetRecord(ctx, busy.ID); r.Status != pipeline.StatusInFlight || r.Generation != 1 {
		t.Errorf("in-flight record changed: %s g%d", r.Status, r.Generation)
	}
	if _, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{done.ID}}, store.RequeueOptions{Force: true}, audit); err == nil {
		t.Error("force without reason accepted")
	}
	forced, err := st.Requeue(ctx, store.RequeueFilter{IDs: []int64{done.ID}}, store.RequeueOptions{Force: true, Reason: "dispute"}, audit)
	if err != nil || forced.Requeued != 1 || len(forced.ForcedIDs) != 1 {
		t.Fatalf("forced: %+v %v", forced, err)
	}
	r, _ := st.GetRecord(ctx, done.ID)
	if r.Status != pipeline.StatusPending || r.Code != nil || r.Result != "" || !r.Reverify || r.Generation != 2 {
		t.Errorf("forced record: %s code %v result %q reverify %v g%d", r.Status, r.Code, r.Result, r.Reverify, r.Generation)
	}
	rows, err := st.ListAudit(ctx, "requeue", 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("audit rows: %d %v; want 3 (not the dry run)", len(rows), err)
	}
	if rows[0].Reason != "dispute" || rows[0].Result["forced_reverification_ids"] == nil {
		t.Errorf("forced requeue audit: %+v", rows[0])
	}
}
