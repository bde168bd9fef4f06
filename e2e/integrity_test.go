package e2e_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
	"github.com/ivsbatch/ivsbatch/worker"
)

// A verdict is reused only for identical inputs. Batch 1 verifies a person
// with their own face (1000). Batch 2 holds the same name and id number
// with another person's face, and the same id number with another name:
// both reach the simulator (its ledger bills them) and end 2002 and 2001.
// Batch 3 repeats batch 1's exact inputs: answered by reuse, no call. The
// same within one batch. A photo re-uploaded under the same key is new
// input: it is sent again.
func TestDedupIdenticalInputsOnly(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	var match, cardMatch e2e.Row
	var otherFace, thirdFace, otherName string
	for _, r := range h.pop.Rows {
		switch {
		case r.Shape == ivs.ShapeNameFaceImage && r.Expect.Code == 1000 && match.Ref == "":
			match = r
		case r.Shape == ivs.ShapeCardFaceImage && r.Expect.Code == 1000 && cardMatch.Ref == "":
			cardMatch = r
		}
	}
	for _, r := range h.pop.Rows { // someone else's face and name
		if f := r.FaceImage; f != "" && f != match.FaceImage && f != cardMatch.FaceImage {
			if otherFace == "" {
				otherFace = f
			} else if thirdFace == "" && f != otherFace {
				thirdFace = f
			}
		}
		if r.Name != "" && r.Name != match.Name && r.IDNumber != match.IDNumber && otherName == "" {
			otherName = r.Name
		}
	}
	if match.Ref == "" || cardMatch.Ref == "" || otherFace == "" || thirdFace == "" || otherName == "" {
		t.Fatal("population lacks the rows this test needs")
	}
	h.startWorkers(workerOpts{n: 2})
	billed := func() int { return h.sim.Ledger().TotalBilled }
	run := func(name string, rows ...e2e.Row) []*pipeline.Record {
		t.Helper()
		batch := h.submitRows(rows, name+".csv")
		h.wait(batch, 2*time.Minute)
		recs, err := h.st.ListRecords(h.ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	expect := func(r *pipeline.Record, code int, linked bool) {
		t.Helper()
		if r.Status != pipeline.StatusDone || r.Code == nil || *r.Code != code || (r.LinkedRecordID != nil) != linked {
			t.Errorf("%s: %s code %v linked %v; want done %d, linked %v", r.Ref, r.Status, deref(r.Code), r.LinkedRecordID, code, linked)
		}
	}

	first := match
	first.Ref = "b1-own-face"
	b1 := run("b1", first)
	expect(b1[0], 1000, false)
	if billed() != 1 {
		t.Fatalf("batch 1 billed %d calls, want 1", billed())
	}

	face, name := match, match
	face.Ref, face.FaceImage = "b2-other-face", otherFace
	name.Ref, name.Name = "b2-other-name", otherName
	b2 := run("b2", face, name)
	expect(b2[0], 2002, false)
	expect(b2[1], 2001, false)
	if billed() != 3 {
		t.Fatalf("after batch 2: %d calls billed, want 3 (a different face or name is always sent)", billed())
	}

	same := match
	same.Ref = "b3-same-inputs"
	b3 := run("b3", same)
	expect(b3[0], 1000, true)
	if billed() != 3 || *b3[0].LinkedRecordID != b1[0].ID {
		t.Fatalf("batch 3: %d calls billed (want 3), linked to %v (want %d)", billed(), b3[0].LinkedRecordID, b1[0].ID)
	}
	if n, err := h.st.ReusedCount(h.ctx, b3[0].BatchID); err != nil || n != 1 {
		t.Errorf("reused count of batch 3: %d %v; want 1", n, err)
	}

	// Within one batch: two identical rows pay once; the third row differs
	// only in its face and is sent.
	a, b, c := cardMatch, cardMatch, cardMatch
	a.Ref, b.Ref, c.Ref, c.FaceImage = "w-a", "w-b", "w-other-face", otherFace
	w := run("within", a, b, c)
	if billed() != 5 {
		t.Fatalf("within one batch: %d calls billed in all, want 5 (one for the two identical rows, one for the other face)", billed())
	}
	if (w[0].LinkedRecordID == nil) == (w[1].LinkedRecordID == nil) {
		t.Errorf("identical rows: linked %v and %v; want exactly one linked", w[0].LinkedRecordID, w[1].LinkedRecordID)
	}
	expect(w[2], 2002, false)
	for _, r := range w[:2] {
		if r.Code == nil || *r.Code != 1000 {
			t.Errorf("%s: code %v, want 1000", r.Ref, deref(r.Code))
		}
	}

	// A third person's photo uploaded under batch 1's key: new input (had
	// it been batch 2's other face, batch 2's verdict would rightly answer).
	img, err := h.objs.Fetch(h.ctx, h.ref(thirdFace), 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.objs.Put(h.ctx, h.ref(match.FaceImage), img, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	again := match
	again.Ref = "b5-reuploaded"
	b5 := run("b5", again)
	expect(b5[0], 2002, false)
	if billed() != 6 {
		t.Fatalf("a re-uploaded photo under the same key: %d calls billed, want 6", billed())
	}
}

// One record's media store is unreachable, another's refuses the worker's
// credentials (a real versitygw answering 403), for longer than the infra
// bound (shortened here): those records end failed infra.fetch while the
// rest of the batch completes; no task is left cycling in Redis and no
// record in flight. ops requeue -code infra.fetch would resume them. Their
// stored messages, and ops export, name the media masked: no key, file
// name, name or id number, whatever the S3 library said.
func TestUnreachableMediaEndsFailedInfraFetch(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	var victims []string
	for _, r := range h.pop.Rows {
		if r.FaceImage != "" && r.Expect.Status == pipeline.StatusDone && r.Shape == ivs.ShapeNameFaceImage {
			victims = append(victims, r.Ref)
		}
	}
	if len(victims) < 2 {
		t.Fatalf("the population has %d records with a face image, want 2", len(victims))
	}
	dead, err := objstore.New(h.ctx, objstore.Config{Endpoint: "http://" + closedAddr(t), Region: h.s3.Region,
		AccessKey: h.s3.AccessKey, SecretKey: h.s3.SecretKey, PathStyle: true, Buckets: []string{bucket}})
	if err != nil {
		t.Fatal(err)
	}
	denied, err := objstore.New(h.ctx, objstore.Config{Endpoint: h.s3.Endpoint, Region: h.s3.Region,
		AccessKey: h.s3.AccessKey, SecretKey: "not-the-secret", PathStyle: true, Buckets: []string{bucket}})
	if err != nil {
		t.Fatal(err)
	}
	batch := h.submit()
	recs, err := h.st.ListRecords(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	route := routeFetcher{ok: h.objs, other: map[string]*objstore.Store{}}
	victimRecs := map[int64]pipeline.Record{}
	for _, r := range recs {
		switch r.Ref {
		case victims[0]:
			route.other[r.FaceImage], victimRecs[r.ID] = dead, *r
		case victims[1]:
			route.other[r.FaceImage], victimRecs[r.ID] = denied, *r
		}
	}
	h.startWorkers(workerOpts{n: 1, config: func(c *pipeline.Config) {
		c.Fetcher = worker.RejectingFetcher{Store: route}
		c.InfraMaxTries, c.InfraMaxAge = 4, time.Minute
		c.InfraBackoffBase, c.InfraBackoffMax = 100*time.Millisecond, 400*time.Millisecond
	}})
	h.wait(batch, 3*time.Minute)
	want := h.pop.Expected()
	recs, _ = h.st.ListRecords(h.ctx, batch)
	for _, r := range recs {
		exp, ok := want[r.Ref]
		_, victim := victimRecs[r.ID]
		switch {
		case victim:
			if r.Status != pipeline.StatusFailed || r.LastErrorCode != pipeline.CodeInfraFetch || r.InfraFailures != 3 {
				t.Errorf("unreachable record: %s %q after %d infra failures (%s); want failed %s after the bound",
					r.Status, r.LastErrorCode, r.InfraFailures, r.LastErrorMessage, pipeline.CodeInfraFetch)
			}
			if n := h.sim.Ledger().BilledByUUID[r.Task().UUID()]; n != 0 {
				t.Errorf("unreachable record billed %d times", n)
			}
			checkNoMediaKey(t, "stored error_message", r.LastErrorMessage, r)
			if !strings.Contains(r.LastErrorMessage, objstore.MaskRef(r.FaceImage)) {
				t.Errorf("stored message %q does not name the media masked (%s)", r.LastErrorMessage, objstore.MaskRef(r.FaceImage))
			}
			t.Logf("stored: %s", r.LastErrorMessage)
		case ok && r.Status != exp.Status:
			t.Errorf("%s: %s, want %s", r.Ref, r.Status, exp.Status)
		case r.Status == pipeline.StatusInFlight:
			t.Errorf("%s left in flight", r.Ref)
		}
	}
	var csv bytes.Buffer
	if _, err := ops.Export(h.ctx, h.st, batch, &csv); err != nil {
		t.Fatal(err)
	}
	for _, r := range victimRecs {
		checkNoMediaKey(t, "ops export", csv.String(), &r)
	}
	// Nothing cycles in Redis: every task finished (asynq deletes finished
	// tasks); none waits for a retry, none was archived.
	rdb := redis.NewClient(&redis.Options{Addr: h.redis})
	defer rdb.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := 0
		for _, q := range taskqueue.Queues {
			if info, err := insp.GetQueueInfo(q); err == nil {
				left += info.Pending + info.Active + info.Scheduled + info.Retry + info.Archived
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks left in Redis after the batch finished", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkNoMediaKey fails when text holds rec's face image key or file name,
// as written or percent-encoded, or its name or id number.
func checkNoMediaKey(t *testing.T, where, text string, rec *pipeline.Record) {
	t.Helper()
	_, key, _ := strings.Cut(strings.TrimPrefix(rec.FaceImage, "s3://"), "/")
	base := path.Base(key)
	for _, leak := range []string{key, url.PathEscape(key), base, strings.TrimSuffix(base, path.Ext(base)), rec.Name, rec.IDNumber} {
		if strings.Contains(text, leak) {
			t.Errorf("%s holds %q", where, leak)
		}
	}
}

// routeFetcher fetches the refs of other from their stores (a real S3
// client getting connection refused, or 403 from versitygw) and
// everything else from ok.
type routeFetcher struct {
	ok    *objstore.Store
	other map[string]*objstore.Store
}

func (f routeFetcher) Fetch(ctx context.Context, ref string, limit int64) ([]byte, error) {
	if st, ok := f.other[ref]; ok {
		return st.Fetch(ctx, ref, limit)
	}
	return f.ok.Fetch(ctx, ref, limit)
}

// closedAddr returns a loopback address with nothing listening.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
