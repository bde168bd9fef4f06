package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// doneBatch stores a batch of n records, all done with a verdict.
func doneBatch(t *testing.T, st *store.Store, n int) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "reverify", Source: "r.csv", ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var in []store.NewRecord
	for i := range n {
		in = append(in, store.NewRecord{Input: pipeline.Input{Ref: fmt.Sprintf("r%d", i), Line: i + 2,
			Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}})
	}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'done', verdict = 'valid', verification_code = 1000,
		finished_at = now() WHERE batch_id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// A forced re-verification names a batch or records, explains itself,
// states its count and cost before it runs, and stops at its cap with
// nothing changed.
func TestForcedRequeueGuards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := doneBatch(t, st, 3)
	price := Price{Amount: 0.3, Currency: "CNY"}
	var notice bytes.Buffer
	base := RequeueOptions{Filter: store.RequeueFilter{BatchID: batch}, Force: true, Operator: "t",
		Reason: "ticket 4711: customer disputes", Price: price, Notice: &notice}

	fleet := base
	fleet.Filter = store.RequeueFilter{Statuses: []pipeline.Status{pipeline.StatusDone}}
	if _, err := Requeue(ctx, st, fleet); err == nil || !strings.Contains(err.Error(), "-batch or record ids") {
		t.Errorf("fleet-wide forced requeue: %v; want refused", err)
	}
	for _, reason := range []string{".", "because", "aaaaaaaaaa", "- - - - -"} {
		o := base
		o.Reason = reason
		if _, err := Requeue(ctx, st, o); err == nil {
			t.Errorf("reason %q accepted", reason)
		}
	}
	capped := base
	capped.MaxForced = 2
	_, err := Requeue(ctx, st, capped)
	var ce *ForcedCapError
	if !errors.As(err, &ce) || ce.Forced != 3 || ce.Max != 2 || ce.ExitCode() != 2 {
		t.Fatalf("over the cap: %v; want a ForcedCapError 3 > 2", err)
	}
	if !strings.Contains(notice.String(), "3 records with a verdict") || !strings.Contains(notice.String(), "3 paid IVS calls, 0.90 CNY") {
		t.Errorf("notice before the run: %q; want the count and the cost", notice.String())
	}
	if bs, _ := st.GetBatchStatus(ctx, batch); bs.Counts.ByStatus[pipeline.StatusDone] != 3 {
		t.Fatalf("refused forced requeue changed records: %v", bs.Counts.ByStatus)
	}
	if rows, _ := st.ListAudit(ctx, "", 10); len(rows) != 0 {
		t.Errorf("refused forced requeue audited %d rows", len(rows))
	}

	res, err := Requeue(ctx, st, base)
	if err != nil || res.Forced != 3 {
		t.Fatalf("forced requeue within the cap: %+v %v", res, err)
	}
	rows, err := st.ListAudit(ctx, "requeue", 1)
	if err != nil || len(rows) != 1 || rows[0].Args["forced_estimate"] != float64(3) ||
		rows[0].Args["cost"] != "3 paid IVS calls, 0.90 CNY" || rows[0].Reason != base.Reason {
		t.Errorf("audit row %+v %v; want the estimate, the cost and the reason", rows, err)
	}
}

func TestCheckReasonAndCost(t *testing.T) {
	for _, ok := range []string{"ticket 4711: customer disputes", "客户对结果有异议，请复核"} {
		if err := CheckReason(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	if got := (Price{}).Cost(2); !strings.HasPrefix(got, "2 paid IVS calls (set IVSBATCH_PRICE_PER_CALL") {
		t.Errorf("unknown price: %q", got)
	}
}
