package store_test

import (
	"context"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// EachOutline walks every record of its batch once, in id order, across
// chunks, with the customer's columns opened and nothing of another batch.
func TestEachOutline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	var other int64
	t.Run("another batch", func(t *testing.T) { other, _ = metadataBatch(t, st, 3, 10) }) // its own manifest name
	batch, want := metadataBatch(t, st, 1203, 20)                                         // three chunks of 500
	seen := map[string]bool{}
	var last int64
	err := st.EachOutline(ctx, batch, func(o store.RecordOutline) error {
		if o.ID <= last {
			t.Fatalf("record %d after %d", o.ID, last)
		}
		last = o.ID
		r, err := st.GetRecord(ctx, o.ID)
		if err != nil {
			return err
		}
		if r.BatchID != batch || o.Shape != pipeline.ShapeName || o.Metadata != want[r.Ref] || seen[r.Ref] {
			t.Errorf("outline %+v of %s (batch %d): want metadata %q, once", o, r.Ref, r.BatchID, want[r.Ref])
		}
		seen[r.Ref] = true
		return nil
	})
	if err != nil || len(seen) != len(want) {
		t.Fatalf("walked %d of %d records: %v", len(seen), len(want), err)
	}
	n := 0
	if err := st.EachOutline(ctx, other, func(store.RecordOutline) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("other batch: %d outlines, %v", n, err)
	}
}
