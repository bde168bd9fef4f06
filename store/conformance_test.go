package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/pipeline/pipelinetest"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// The store keeps the promises the processor relies on: the conformance
// suite the processor tests' fake also passes (pipeline's
// TestFakeStoreConformance), each test on its own database.
func TestRecordStoreConformance(t *testing.T) {
	t.Parallel()
	pipelinetest.RunRecordStore(t, func(t *testing.T) pipelinetest.Store { return &conformant{Store: storetest.Open(t)} })
}

// conformant is the suite's set-up over the store's API (and, for what the
// API leaves to operators and time, its SQL).
type conformant struct {
	*store.Store
	batches atomic.Int64
}

var bg = context.Background()

func (c *conformant) AddBatch(t testing.TB, maxBilled int) int64 {
	t.Helper()
	name := fmt.Sprintf("conformance-%d", c.batches.Add(1))
	b, _, err := c.CreateBatch(bg, pipeline.Batch{Name: name, Source: name + ".csv", ManifestSHA256: name})
	if err != nil {
		t.Fatal(err)
	}
	if maxBilled > 0 {
		if _, err := c.SetBudget(bg, b.ID, maxBilled, nil); err != nil {
			t.Fatal(err)
		}
	}
	return b.ID
}

func (c *conformant) AddRecord(t testing.TB, batchID int64, in pipeline.Input) pipeline.TaskRef {
	t.Helper()
	if _, err := c.InsertInputs(bg, batchID, []store.NewRecord{{Input: in}}); err != nil {
		t.Fatal(err)
	}
	ref := pipeline.TaskRef{Generation: 1, Shape: in.Shape}
	err := c.Pool().QueryRow(bg, `UPDATE records SET status = $3 WHERE batch_id = $1 AND ref = $2 RETURNING id`,
		batchID, in.Ref, pipeline.StatusQueued).Scan(&ref.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (c *conformant) Record(t testing.TB, id int64) *pipeline.Record {
	t.Helper()
	r, err := c.GetRecord(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (c *conformant) BudgetUsed(t testing.TB, batchID int64) int {
	t.Helper()
	b, err := c.GetBudget(bg, batchID)
	if err != nil {
		t.Fatal(err)
	}
	return b.Used
}

func (c *conformant) NewGeneration(t testing.TB, id int64) pipeline.TaskRef {
	t.Helper()
	ref := pipeline.TaskRef{RecordID: id}
	err := c.Pool().QueryRow(bg, `
		UPDATE records SET generation = generation + 1, status = $2, attempts = 0, finished_at = NULL
		WHERE id = $1 RETURNING generation, shape`, id, pipeline.StatusQueued).Scan(&ref.Generation, &ref.Shape)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (c *conformant) OutliveCallGrace(t testing.TB, id int64) {
	t.Helper()
	_, err := c.Pool().Exec(bg, `
		UPDATE attempts SET started_at = started_at - make_interval(secs => $2)
		WHERE record_id = $1 AND state = $3`, id, (store.DefaultCallGrace + time.Second).Seconds(), store.AttemptInFlight)
	if err != nil {
		t.Fatal(err)
	}
}
