package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// metadataBatch stores n pending records whose metadata is about size
// bytes each, and returns the batch and the metadata by ref.
func metadataBatch(t *testing.T, st *store.Store, n, size int) (int64, map[string]string) {
	t.Helper()
	want := map[string]string{}
	var in []store.NewRecord
	for i := range n {
		ref := fmt.Sprintf("m%d", i)
		want[ref] = fmt.Sprintf(`{"note":"%s"}`, strings.Repeat(string(rune('a'+i%26)), size))
		in = append(in, store.NewRecord{Input: pipeline.Input{Ref: ref, Line: i + 2, Shape: ivs.ShapeName,
			Name: "张伟", IDNumber: "11010119900307803X", Metadata: want[ref]}})
	}
	return newBatch(t, st, in...), want
}

// A claim neither returns nor opens the customer's metadata; a record read
// whole (GetRecord, ListRecords) has it.
func TestClaimReadsNoMetadata(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	_, want := metadataBatch(t, st, 3, 100)
	refs, err := st.ClaimPending(ctx, ivs.EndpointExtention, 3)
	if err != nil || len(refs) != 3 {
		t.Fatalf("claim pending: %v %v", refs, err)
	}
	for _, ref := range refs {
		rec, err := st.Claim(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Metadata != "" || rec.Name != "张伟" {
			t.Errorf("claimed record %s: metadata %q, name %q; want no metadata, the name", rec.Ref, rec.Metadata, rec.Name)
		}
		whole, err := st.GetRecord(ctx, rec.ID)
		if err != nil || whole.Metadata != want[rec.Ref] {
			t.Errorf("GetRecord %s: metadata %q (%v); want %q", rec.Ref, whole.Metadata, err, want[rec.Ref])
		}
	}
}

// EachRecord walks every record once, in id order, with its metadata, in
// chunks bounded by the metadata's size: each chunk is the records whose
// sealed metadata starts within the budget, at least one.
func TestEachRecordBoundsMetadata(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch, want := metadataBatch(t, st, 7, 1000)
	var sizes []int
	rows, err := st.Pool().Query(ctx, `SELECT octet_length(metadata_enc) FROM records WHERE batch_id = $1 ORDER BY id`, batch)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
	}
	if err := rows.Err(); err != nil || len(sizes) != 7 || sizes[0] < 1000 {
		t.Fatalf("sealed metadata sizes %v (%v)", sizes, err)
	}
	for _, budget := range []int{1, sizes[0] + sizes[1] + 1, 1 << 30} {
		// The first chunk as the query reads it.
		var chunk int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM (`+store.EachRecordSQL+`) c`, batch, nil, 0, 1000, budget).
			Scan(&chunk); err != nil {
			t.Fatal(err)
		}
		wantChunk, before := 0, 0
		for _, n := range sizes {
			if before >= budget {
				break
			}
			wantChunk++
			before += n
		}
		if chunk != wantChunk {
			t.Errorf("budget %d: first chunk of %d records; want %d", budget, chunk, wantChunk)
		}
		var refs []string
		err := st.EachRecordBounded(ctx, batch, budget, func(r *pipeline.Record) error {
			if r.Metadata != want[r.Ref] {
				t.Errorf("budget %d: %s metadata %q; want %q", budget, r.Ref, r.Metadata, want[r.Ref])
			}
			refs = append(refs, r.Ref)
			return nil
		})
		if err != nil || strings.Join(refs, ",") != "m0,m1,m2,m3,m4,m5,m6" {
			t.Errorf("budget %d: walked %v (%v); want every record once in order", budget, refs, err)
		}
	}
}
