package ingest_test

import (
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func TestSubmit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := store.Open(ctx, testenv.PostgresURL(t), store.WithKeyring(testenv.Keyring(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := testenv.S3(t)
	objs, err := objstore.New(ctx, objstore.Config{Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.EnsureBucket(ctx, "manifests"); err != nil {
		t.Fatal(err)
	}
	manifest := `{"ref":"ok","name":"张三","id_number":"` + id15 + `","face_image":"` + face + `"}` + "\n" +
		`{"ref":"bad","name":"张三","id_number":"` + badCheck + `","face_image":"` + face + `"}` + "\n" +
		`{"ref":"pua","name":"张` + "\uE000" + `","id_number":"` + id18 + `"}` + "\n" +
		"garbage \x00\xff\n" +
		`{"ref":"ok","shape":"card","idcard_image1":"` + card1 + `"}` + "\n" +
		`{"ref":"nul","name":"张\u0000","id_number":"` + id18 + `"}` + "\n"
	src := "s3://manifests/batch1" // no extension: detected as JSON Lines
	if err := objs.Put(ctx, src, []byte(manifest), "application/x-ndjson"); err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(ctx, st, objs.Open, src, ingest.SubmitOptions{Name: "t", Operator: "clerk"})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Created || sum.Rows != 6 || sum.Valid != 1 || sum.Review != 1 || sum.Rejected != 4 || sum.Inserted != 6 ||
		len(sum.Bad) != 5 {
		t.Fatalf("summary %+v", sum)
	}
	recs, err := st.ListRecords(ctx, sum.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		ref    string
		line   int
		status pipeline.Status
		code   string
	}
	want := map[string]got{
		"ok":        {"ok", 1, pipeline.StatusPending, ""},
		"bad":       {"bad", 2, pipeline.StatusRejected, identity.CodeIDCheck},
		"pua":       {"pua", 3, pipeline.StatusReview, identity.CodeNamePrivateUse},
		"line-4":    {"line-4", 4, pipeline.StatusRejected, ingest.CodeMalformed},
		"ok#line-5": {"ok#line-5", 5, pipeline.StatusRejected, ingest.CodeDuplicateRef},
		"nul":       {"nul", 6, pipeline.StatusRejected, identity.CodeNameChars},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for _, r := range recs {
		g := got{r.Ref, r.Line, r.Status, r.LastErrorCode}
		if g != want[r.Ref] {
			t.Errorf("record %+v, want %+v", g, want[r.Ref])
		}
		if r.Ref == "ok" && r.IDNumber != id18 {
			t.Errorf("ok: id %q, want the 18-character form", r.IDNumber)
		}
		if r.Ref == "bad" && r.IDNumber != badCheck {
			t.Errorf("bad: raw id not kept: %q", r.IDNumber)
		}
	}
	again, err := ingest.Submit(ctx, st, objs.Open, src, ingest.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.BatchID != sum.BatchID || again.Inserted != 0 || again.Rows != 6 {
		t.Fatalf("resubmit %+v", again)
	}
	// Both submissions are audited with the batch, newest first.
	audit, err := st.ListAudit(ctx, "submit", 10)
	if err != nil || len(audit) != 2 {
		t.Fatalf("submit audit rows %+v %v; want 2", audit, err)
	}
	if a := audit[1]; a.Operator != "clerk" || a.BatchID != sum.BatchID || a.Result["created"] != true || a.Result["added"] != float64(6) ||
		a.Args["source"] != src || a.DBUser == "" {
		t.Errorf("first submit's audit row: %+v", a)
	}
	if a := audit[0]; a.Operator != "unknown" || a.Result["created"] != false || a.Result["added"] != float64(0) {
		t.Errorf("second submit's audit row: %+v", a)
	}
}
