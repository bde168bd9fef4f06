package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/worker"
)

// The store collector reports a batch's records by status and its budget,
// records in flight too long, and the latest reconcile run, from Postgres.
func TestStoreCollector(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "m", ManifestSHA256: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.NewRecord
	for i := range 3 {
		rows = append(rows, store.NewRecord{Input: pipeline.Input{Ref: string(rune('a' + i)), Line: i + 2, Shape: pipeline.ShapeName,
			Name: "张伟", IDNumber: "11010119900307803X"}})
	}
	if _, err := st.InsertInputs(ctx, b.ID, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetBudget(ctx, b.ID, 100, nil); err != nil {
		t.Fatal(err)
	}
	refs, err := st.ClaimPending(ctx, pipeline.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim: %v %v", refs, err)
	}
	if _, err := st.Claim(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveReconcile(ctx, time.Now(), true, map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	// A task timeout of 0 makes the record in flight "too long" at once.
	c := worker.NewStoreCollector(st, -time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	single := map[string]float64{}
	var byStatus map[string]float64
	for _, mf := range mfs {
		if len(mf.GetMetric()) == 1 {
			single[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		if mf.GetName() != "ivsbatch_batch_records" {
			continue
		}
		got := map[string]float64{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					got[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		byStatus = got
	}
	if byStatus["pending"] != 2 || byStatus["in_flight"] != 1 || len(byStatus) != len(pipeline.OpenStatuses)+len(pipeline.TerminalStatuses) {
		t.Fatalf("records by status %v; want 2 pending, 1 in flight, every status reported", byStatus)
	}
	if single["ivsbatch_batch_budget_max_billed"] != 100 || single["ivsbatch_records_in_flight_too_long"] != 1 ||
		single["ivsbatch_reconcile_needs_human"] != 1 {
		t.Fatalf("metrics %v; want the budget cap 100, one record in flight too long, reconcile needing a human", single)
	}
}
