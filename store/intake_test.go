package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

func cardInput(ref string) store.NewRecord {
	return store.NewRecord{Input: pipeline.Input{Ref: ref, Line: 2, Shape: pipeline.ShapeCardFaceImage,
		IDCard1: "file:///media/王芳/110101199003077777-front.jpg", FaceImage: "s3://media/王芳.jpg",
		Metadata: `{"备注":"王芳的客户"}`}}
}

// Staged rows are invisible (no batch, no record) until Commit; a closed,
// uncommitted intake leaves nothing.
func TestIntakeVisibleOnlyAtCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	count := func() (b, r int) {
		if err := st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM records)`).Scan(&b, &r); err != nil {
			t.Fatal(err)
		}
		return b, r
	}
	abandoned, err := st.BeginIntake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := abandoned.Add(ctx, []store.NewRecord{nameInput("x")}); err != nil {
		t.Fatal(err)
	}
	abandoned.Close()
	in, err := st.BeginIntake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Add(ctx, []store.NewRecord{nameInput("a"), cardInput("b")}); err != nil {
		t.Fatal(err)
	}
	if b, r := count(); b != 0 || r != 0 {
		t.Fatalf("%d batches, %d records visible before commit", b, r)
	}
	batch, created, added, err := in.Commit(ctx, pipeline.Batch{Name: "t", ManifestSHA256: "sha"}, store.IntakeCounts{Rows: 2}, nil)
	if err != nil || !created || added != 2 {
		t.Fatalf("commit: %v %v %d", created, added, err)
	}
	if b, r := count(); b != 1 || r != 2 {
		t.Fatalf("%d batches, %d records after commit", b, r)
	}
	again, _ := st.BeginIntake(ctx)
	defer again.Close()
	if err := again.Add(ctx, []store.NewRecord{nameInput("a"), cardInput("b")}); err != nil {
		t.Fatal(err)
	}
	b2, created, added, err := again.Commit(ctx, pipeline.Batch{Name: "t", ManifestSHA256: "sha"}, store.IntakeCounts{Rows: 2}, nil)
	if err != nil || created || added != 0 || b2.ID != batch.ID {
		t.Fatalf("same manifest again: %+v %v %d %v", b2, created, added, err)
	}
}

// Media references and metadata are sealed at rest; one stored in clear
// before they were sealed still reads, and Rekey seals it.
func TestMediaSealedAndLegacyRekey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	newBatch(t, st, cardInput("b"))
	raw := func() string {
		var s string
		if err := st.Pool().QueryRow(ctx, `SELECT row_to_json(r)::text FROM records r`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := raw(); strings.Contains(s, "王芳") || strings.Contains(s, "110101199003077777") || strings.Contains(s, "media") {
		t.Fatalf("media or metadata stored in clear: %s", s)
	}
	want := cardInput("b")
	rec, err := st.GetRecord(ctx, 1)
	if err != nil || rec.IDCard1 != want.IDCard1 || rec.FaceImage != want.FaceImage || rec.Metadata != want.Metadata {
		t.Fatalf("record %+v %v", rec, err)
	}
	// A reference from before sealing.
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET face_image = 's3://media/王芳.jpg'`); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.GetRecord(ctx, 1); err != nil || rec.FaceImage != want.FaceImage {
		t.Fatalf("legacy clear reference: %+v %v", rec, err)
	}
	if n, err := st.Rekey(ctx, 10); err != nil || n != 1 {
		t.Fatalf("rekey sealed %d records (%v), want 1", n, err)
	}
	if s := raw(); strings.Contains(s, "王芳") {
		t.Fatalf("legacy reference still in clear after rekey: %s", s)
	}
	if rec, err := st.GetRecord(ctx, 1); err != nil || rec.FaceImage != want.FaceImage {
		t.Fatalf("after rekey: %+v %v", rec, err)
	}
}

// Staging is pipelined (ids, sealing and COPY overlap), yet records keep
// the manifest's order: ids grow with the line across chunks, and every
// row opens with its own id. A chunk that cannot be sealed fails Commit and
// leaves nothing.
func TestIntakePipelineOrderAndFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	st := storetest.OpenURL(t, url)
	in, err := st.BeginIntake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	const chunks, size = 9, 700
	line := 1
	for range chunks {
		rows := make([]store.NewRecord, size)
		for i := range rows {
			line++
			rows[i] = nameInput(fmt.Sprintf("r%d", line))
			rows[i].Line = line
		}
		if err := in.Add(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	batch, _, added, err := in.Commit(ctx, pipeline.Batch{Name: "t", ManifestSHA256: "order"}, store.IntakeCounts{Rows: chunks * size}, nil)
	if err != nil || added != chunks*size {
		t.Fatalf("commit: %d added, %v", added, err)
	}
	var disorder int
	err = st.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT id, lag(id) OVER (ORDER BY line) AS prev FROM records) x
		WHERE id <= prev`).Scan(&disorder)
	if err != nil || disorder != 0 {
		t.Fatalf("%d records with an id below the previous line's (%v)", disorder, err)
	}
	recs, err := st.ListRecords(ctx, batch.ID)
	if err != nil || len(recs) != chunks*size || recs[len(recs)-1].Name != "张伟" || recs[len(recs)-1].Ref != fmt.Sprintf("r%d", line) {
		t.Fatalf("%d records, %v", len(recs), err)
	}

	noKeys := storetest.OpenURL(t, url, store.WithKeyring(nil))
	bad, err := noKeys.BeginIntake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	for range 3 {
		if err := bad.Add(ctx, []store.NewRecord{nameInput("x")}); err != nil && !errors.Is(err, pii.ErrNoKeys) {
			t.Fatal(err)
		}
	}
	if _, _, _, err := bad.Commit(ctx, pipeline.Batch{Name: "t", ManifestSHA256: "bad"}, store.IntakeCounts{Rows: 3}, nil); !errors.Is(err, pii.ErrNoKeys) {
		t.Fatalf("commit of unsealable rows: %v, want %v", err, pii.ErrNoKeys)
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM batches WHERE manifest_sha256 = 'bad'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d batches left by a failed intake (%v)", n, err)
	}
}
