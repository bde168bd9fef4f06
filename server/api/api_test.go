package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/server/api"
	"github.com/ivsbatch/ivsbatch/server/servertest"
)

const manifest = "ref,name,id_number\n" +
	"r1,张三,11010519491231002X\n" +
	"r2,李四丰,110105198001010016\n" +
	"r3,王五,123\n"

// TestOpenAPIMatchesRoutes checks the checked-in document against the
// handlers: the same operations (method and path), each with the role
// the handler requires.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Role        string `yaml:"x-role"`
			OperationID string `yaml:"operationId"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var inDoc, inCode []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			inDoc = append(inDoc, fmt.Sprintf("%s %s %s", strings.ToUpper(method), path, op.Role))
		}
	}
	for _, r := range api.New(api.Deps{}).Routes() {
		inCode = append(inCode, fmt.Sprintf("%s %s %s", r.Method, r.Path, r.Role))
	}
	slices.Sort(inDoc)
	slices.Sort(inCode)
	if !slices.Equal(inDoc, inCode) {
		t.Fatalf("openapi.yaml and the routes differ:\ndocument: %q\nhandlers: %q", inDoc, inCode)
	}
}

type client struct {
	t     *testing.T
	env   *servertest.Env
	c     *http.Client
	token string
}

func (c client) do(method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.env.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// upload submits a manifest as a multipart upload.
func (c client) upload(name, content, key string) (*http.Response, api.Submitted) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("manifest", "june.csv")
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	hdr := []string{"Content-Type", mw.FormDataContentType()}
	if key != "" {
		hdr = append(hdr, "Idempotency-Key", key)
	}
	resp, body := c.do("POST", "/api/v1/batches", &buf, hdr...)
	var s api.Submitted
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(body, &s); err != nil {
			c.t.Fatalf("%s: %v", body, err)
		}
	}
	return resp, s
}

func (c client) json(method, path string, in, out any) *http.Response {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp, b := c.do(method, path, body, "Content-Type", "application/json")
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		c.t.Fatalf("%s %s: %s with %q, want application/problem+json", method, path, resp.Status, resp.Header.Get("Content-Type"))
	}
	return resp
}

func TestSubmitIdempotent(t *testing.T) {
	t.Parallel()
	s3 := testenv.S3(t)
	objs, err := objstore.New(t.Context(), objstore.Config{Endpoint: s3.Endpoint, Region: s3.Region,
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.EnsureBucket(t.Context(), "manifests"); err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.Options{Objects: objs})
	op := client{t, env, env.Client(), env.Token("nightly", auth.Operator)}

	resp, first := op.upload("june", manifest, "nightly-2026-06-01")
	if resp.StatusCode != http.StatusCreated || !first.Created || first.Rows != 3 || first.Valid != 2 || first.Rejected != 1 ||
		len(first.Refused) != 1 || first.Refused[0].Line != 4 || first.Plan.Calls != 2 {
		t.Fatalf("first submit: %s %+v", resp.Status, first)
	}
	if strings.Contains(fmt.Sprint(first.Refused), "王五") {
		t.Fatalf("a refused row's reason shows the name: %+v", first.Refused)
	}
	if resp.Header.Get("Location") != fmt.Sprintf("/api/v1/batches/%d", first.BatchID) {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	resp, again := op.upload("june", manifest, "nightly-2026-06-01")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "true" || again.BatchID != first.BatchID {
		t.Fatalf("same key again: %s replayed=%q batch %d, want the first answer (201, batch %d)",
			resp.Status, resp.Header.Get("Idempotent-Replayed"), again.BatchID, first.BatchID)
	}
	resp, _ = op.upload("another name", manifest, "nightly-2026-06-01")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("same key, another request: %s, want 422", resp.Status)
	}
	// Another caller's key of the same name is its own.
	other := client{t, env, env.Client(), env.Token("other", auth.Operator)}
	if resp, s := other.upload("june", manifest, "nightly-2026-06-01"); resp.StatusCode != http.StatusOK || s.Created ||
		s.BatchID != first.BatchID || s.Inserted != 0 {
		t.Fatalf("another caller, same manifest: %s %+v, want 200, the same batch, nothing added", resp.Status, s)
	}
	var list struct{ Batches []api.Batch }
	op.json("GET", "/api/v1/batches", nil, &list)
	if len(list.Batches) != 1 || list.Batches[0].Total != 3 || list.Batches[0].ByStatus["pending"] != 2 {
		t.Fatalf("batches after four submits of one manifest: %+v", list.Batches)
	}
	// An s3:// reference.
	if err := objs.Put(t.Context(), "s3://manifests/july.csv", []byte(manifest+"r4,赵六,11010519491231002X\n"), "text/csv"); err != nil {
		t.Fatal(err)
	}
	var july api.Submitted
	resp = op.json("POST", "/api/v1/batches", api.SubmitRequest{Source: "s3://manifests/july.csv", Name: "july"}, &july)
	if resp.StatusCode != http.StatusCreated || july.BatchID == first.BatchID || july.Rows != 4 {
		t.Fatalf("s3 submit: %s %+v", resp.Status, july)
	}
	for _, bad := range []api.SubmitRequest{{Source: "/etc/passwd"}, {Source: "file:///etc/passwd"}} {
		if resp := op.json("POST", "/api/v1/batches", bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("source %q: %s, want 400", bad.Source, resp.Status)
		}
	}
	if resp, _ := op.upload("empty", "ref,name,id_number\n", ""); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a manifest without rows: %s, want 422", resp.Status)
	}
	viewer := client{t, env, env.Client(), env.Token("dash", auth.Viewer)}
	if resp, _ := viewer.upload("june", manifest, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer submits: %s, want 403", resp.Status)
	}
	audit, err := env.Store.ListAudit(t.Context(), "submit", 10)
	if err != nil || len(audit) != 4 || audit[len(audit)-1].Operator != "token:nightly" {
		t.Fatalf("submit audit rows %+v %v: want 4 (first, other caller, july, refused), the first by token:nightly", audit, err)
	}
}

func TestBatchAndRequeue(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.Options{})
	op := client{t, env, env.Client(), env.Token("ops", auth.Operator)}
	viewer := client{t, env, env.Client(), env.Token("dash", auth.Viewer)}
	_, sub := op.upload("june", manifest, "")
	id := sub.BatchID
	// Both valid records failed on a transient code.
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE records SET status = 'failed', last_error_code = 'IVS.0101'
		WHERE batch_id = $1 AND status = 'pending'`, id); err != nil {
		t.Fatal(err)
	}
	var st api.Status
	if resp := viewer.json("GET", fmt.Sprintf("/api/v1/batches/%d", id), nil, &st); resp.StatusCode != 200 ||
		st.Total != 3 || st.ByStatus["failed"] != 2 || st.ByError["IVS.0101"] != 2 || st.Open != 0 {
		t.Fatalf("status: %s %+v", resp.Status, st)
	}
	var plan api.Plan
	if resp := viewer.json("GET", fmt.Sprintf("/api/v1/batches/%d/plan", id), nil, &plan); resp.StatusCode != 200 || plan.Rows != 3 {
		t.Fatalf("plan: %s %+v", resp.Status, plan)
	}
	for _, p := range []string{"/api/v1/batches/999999", "/api/v1/batches/999999/plan", "/api/v1/batches/999999/export"} {
		if resp := viewer.json("GET", p, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	if resp := viewer.json("GET", "/api/v1/batches/x", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a batch id that is no number: %s", resp.Status)
	}
	resp, body := viewer.do("GET", fmt.Sprintf("/api/v1/batches/%d/export", id), nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(rows) != 4 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %s %v %d rows", resp.Status, err, len(rows))
	}
	if bytes.Contains(body, []byte("张三")) || bytes.Contains(body, []byte("11010519491231002X")) {
		t.Fatalf("export shows personal data unmasked:\n%s", body)
	}
	resp, body = viewer.do("GET", fmt.Sprintf("/api/v1/batches/%d/report", id), nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<svg")) {
		t.Fatalf("report: %s", resp.Status)
	}

	req := api.RequeueRequest{BatchID: id, Codes: []string{"IVS.0101"}}
	if resp := viewer.json("POST", "/api/v1/requeues", req, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer previews a requeue: %s, want 403", resp.Status)
	}
	var prev api.RequeuePreview
	if resp := op.json("POST", "/api/v1/requeues", req, &prev); resp.StatusCode != http.StatusCreated ||
		prev.Result.Requeued != 2 || prev.Cost.Calls != 2 || prev.Cost.PaidReverifications != 0 || prev.Cost.DurationSeconds != 1 {
		t.Fatalf("preview: %s %+v", resp.Status, prev)
	}
	st = api.Status{}
	viewer.json("GET", fmt.Sprintf("/api/v1/batches/%d", id), nil, &st)
	if st.ByStatus["failed"] != 2 {
		t.Fatalf("a preview changed records: %+v", st.ByStatus)
	}
	if resp := viewer.json("POST", prev.Confirm, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer confirms: %s, want 403", resp.Status)
	}
	other := client{t, env, env.Client(), env.Token("ops2", auth.Operator)}
	if resp := other.json("POST", prev.Confirm, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another operator confirms my preview: %s, want 404", resp.Status)
	}
	var done struct{ Result api.RequeueOut }
	if resp := op.json("POST", prev.Confirm, nil, &done); resp.StatusCode != 200 || done.Result.Requeued != 2 {
		t.Fatalf("confirm: %s %+v", resp.Status, done)
	}
	if resp := op.json("POST", prev.Confirm, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("confirm twice: %s, want 404", resp.Status)
	}
	st = api.Status{}
	viewer.json("GET", fmt.Sprintf("/api/v1/batches/%d", id), nil, &st)
	if st.ByStatus["pending"] != 2 || st.ByStatus["failed"] != 0 {
		t.Fatalf("after the requeue: %+v", st.ByStatus)
	}
	audit, err := env.Store.ListAudit(t.Context(), "requeue", 10)
	if err != nil || len(audit) == 0 || audit[0].Operator != "token:ops" {
		t.Fatalf("requeue audit %+v %v", audit, err)
	}
	// A selection that grew since its preview is not run.
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE records SET status = 'failed', last_error_code = 'IVS.0101'
		WHERE batch_id = $1 AND ref = 'r1'`, id); err != nil {
		t.Fatal(err)
	}
	op.json("POST", "/api/v1/requeues", req, &prev)
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE records SET status = 'failed', last_error_code = 'IVS.0101'
		WHERE batch_id = $1 AND ref = 'r2'`, id); err != nil {
		t.Fatal(err)
	}
	if resp := op.json("POST", prev.Confirm, nil, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("confirm after the selection grew: %s, want 409", resp.Status)
	}
	for _, bad := range []api.RequeueRequest{{}, {Statuses: []string{"bogus"}}, {BatchID: id, Force: true}} {
		if resp := op.json("POST", "/api/v1/requeues", bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("requeue %+v: %s, want 400", bad, resp.Status)
		}
	}
}

// A record looked up by ref and the review queue read by a viewer, masked;
// decisions by an operator (by id and by ref) through ops review's function,
// audited with the token; a viewer cannot decide.
func TestReviewAndFind(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.Options{})
	ctx := t.Context()
	op := client{t, env, env.Client(), env.Token("ops", auth.Operator)}
	viewer := client{t, env, env.Client(), env.Token("dash", auth.Viewer)}
	_, first := op.upload("june", manifest, "")
	_, second := op.upload("july", "ref,name,id_number\nr1,赵六,110105198001010016\nr2,钱七,11010519491231002X\n", "")
	if first.BatchID == 0 || second.BatchID == 0 || first.BatchID == second.BatchID {
		t.Fatalf("two batches: %+v %+v", first, second)
	}
	// IVS answered 3001 for r1 and r2 of the first batch and r2 of the second: review cases.
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE records SET status = 'review', verification_code = 3001,
		verdict = 'nonexistent', finished_at = now() WHERE (batch_id = $1 AND ref IN ('r1', 'r2')) OR (batch_id = $2 AND ref = 'r2')`,
		first.BatchID, second.BatchID); err != nil {
		t.Fatal(err)
	}
	recordID := func(batch int64, ref string) int64 {
		var id int64
		if err := env.Store.Pool().QueryRow(ctx, `SELECT id FROM records WHERE batch_id = $1 AND ref = $2`, batch, ref).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	r1, r2, r2b := recordID(first.BatchID, "r1"), recordID(first.BatchID, "r2"), recordID(second.BatchID, "r2")

	// the list of batches, a page at a time (ListBatches, keyset on the id)
	var page struct {
		Batches []api.Batch
		Next    string
	}
	if viewer.json("GET", "/api/v1/batches?limit=1", nil, &page); len(page.Batches) != 1 || page.Batches[0].ID != second.BatchID ||
		page.Batches[0].State != "open" || page.Next != fmt.Sprintf("/api/v1/batches?limit=1&before=%d", second.BatchID) {
		t.Fatalf("first page: %+v", page)
	}
	next := page.Next
	page.Batches, page.Next = nil, ""
	if viewer.json("GET", next, nil, &page); len(page.Batches) != 1 || page.Batches[0].ID != first.BatchID {
		t.Fatalf("second page: %+v", page)
	}

	var found struct{ Records []api.Record }
	resp, body := viewer.do("GET", "/api/v1/records?ref=r1", nil)
	if err := json.Unmarshal(body, &found); resp.StatusCode != 200 || err != nil || len(found.Records) != 2 ||
		found.Records[0].BatchID != second.BatchID || found.Records[1].ID != r1 || found.Records[1].Verdict != "3001 nonexistent" ||
		found.Records[1].Explanation == "" || found.Records[1].NameMasked == "" {
		t.Fatalf("find r1: %s %s", resp.Status, body)
	}
	if bytes.Contains(body, []byte("张三")) || bytes.Contains(body, []byte("赵六")) || bytes.Contains(body, []byte("11010519491231002X")) {
		t.Fatalf("find shows personal data unmasked: %s", body)
	}
	for _, q := range []string{"", "?ref=", "?ref=r1&limit=0", "?ref=" + strings.Repeat("x", 300)} {
		if resp := viewer.json("GET", "/api/v1/records"+q, nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("find %q: %s, want 400", q, resp.Status)
		}
	}
	var queue api.ReviewQueue
	if resp := viewer.json("GET", "/api/v1/review", nil, &queue); resp.StatusCode != 200 || queue.Total != 3 ||
		queue.ByWhy["3001"] != 3 || len(queue.Cases) != 3 || queue.Cases[0].ID != r1 {
		t.Fatalf("review queue: %s %+v", resp.Status, queue)
	}
	if resp := viewer.json("GET", fmt.Sprintf("/api/v1/review?batch_id=%d&limit=1", first.BatchID), nil, &queue); resp.StatusCode != 200 ||
		queue.Total != 2 || len(queue.Cases) != 1 || queue.Next == "" {
		t.Fatalf("one batch's queue, a page of one: %s %+v", resp.Status, queue)
	}

	approve := api.DecideRequest{Decision: "approve", Reason: "the registry confirms the person", RecordIDs: []int64{r1}}
	if resp := viewer.json("POST", "/api/v1/review/decisions", approve, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer decides: %s, want 403", resp.Status)
	}
	if rec, _ := env.Store.GetRecord(ctx, r1); rec.Status != pipeline.StatusReview {
		t.Fatalf("a viewer's decision changed the record: %s", rec.Status)
	}
	for _, bad := range []api.DecideRequest{
		{Decision: "approve", RecordIDs: []int64{r1}},                                    // no reason
		{Decision: "maybe", Reason: "x", RecordIDs: []int64{r1}},                         // no such decision
		{Decision: "approve", Reason: "x"},                                               // no record
		{Decision: "approve", Reason: "x", RecordIDs: []int64{r1}, Refs: []string{"r1"}}, // both
		{Decision: "approve", Reason: "x", RecordIDs: []int64{r1}, CorrectedName: "张三"},  // a name with approve
	} {
		resp, body := op.do("POST", "/api/v1/review/decisions", jsonBody(bad), "Content-Type", "application/json")
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"code":"bad_decision"`)) {
			t.Fatalf("decision %+v: %s %s, want a 400 bad_decision problem", bad, resp.Status, body)
		}
	}
	var dec api.Decided
	if resp := op.json("POST", "/api/v1/review/decisions", approve, &dec); resp.StatusCode != 200 || len(dec.Decided) != 1 ||
		dec.Decided[0].Status != string(pipeline.StatusReviewApproved) || dec.PaidReverifications != 0 {
		t.Fatalf("approve: %s %+v", resp.Status, dec)
	}
	// r2 is in review in both batches: a ref without batch_id is ambiguous.
	reject := api.DecideRequest{Decision: "reject", Reason: "no such person at the registry", Refs: []string{"r2"}}
	if resp := op.json("POST", "/api/v1/review/decisions", reject, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("an ambiguous ref: %s, want 409", resp.Status)
	}
	reject.BatchID = first.BatchID
	if resp := op.json("POST", "/api/v1/review/decisions", reject, &dec); resp.StatusCode != 200 || len(dec.Decided) != 1 ||
		dec.Decided[0].ID != r2 || dec.Decided[0].Status != string(pipeline.StatusReviewRejected) {
		t.Fatalf("reject by ref: %s %+v", resp.Status, dec)
	}
	reverify := api.DecideRequest{Decision: "reverify", Reason: "the registry updated its data", RecordIDs: []int64{r2b, r1}}
	if resp := op.json("POST", "/api/v1/review/decisions", reverify, &dec); resp.StatusCode != 200 || len(dec.Decided) != 1 ||
		dec.Decided[0].ID != r2b || dec.PaidReverifications != 1 || len(dec.NotInReview) != 1 || dec.NotInReview[0] != r1 {
		t.Fatalf("reverify (one case, one decided already): %s %+v", resp.Status, dec)
	}
	if rec, _ := env.Store.GetRecord(ctx, r2b); rec.Status != pipeline.StatusPending || !rec.Reverify {
		t.Fatalf("re-verified record: %s reverify=%v", rec.Status, rec.Reverify)
	}
	found.Records = nil
	if viewer.json("GET", "/api/v1/records?ref=r1", nil, &found); len(found.Records) != 2 || found.Records[1].Decision == nil ||
		found.Records[1].Decision.Decision != "approve" || found.Records[1].Decision.Operator != "token:ops" {
		t.Fatalf("r1 after its decision: %+v", found.Records)
	}
	audit, err := env.Store.ListAudit(ctx, "review-decision", 10)
	if err != nil || len(audit) != 3 {
		t.Fatalf("review audit rows %+v (%v), want 3", audit, err)
	}
	for _, a := range audit {
		if a.Operator != "token:ops" {
			t.Errorf("audit row %d by %q, want token:ops", a.ID, a.Operator)
		}
	}
	if viewer.json("GET", "/api/v1/review", nil, &queue); queue.Total != 0 || len(queue.Cases) != 0 {
		t.Fatalf("queue after the decisions: %+v", queue)
	}
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
