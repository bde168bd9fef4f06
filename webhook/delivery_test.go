package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// The personal data of the test batch: none of it may reach a payload.
const (
	personName = "张伟"
	personID   = "11010119900307803X"
)

// finishedBatch stores a batch of two people, finishes their records (one
// done, one in review) and settles it: its events are batch.finished and
// batch.needs_review.
func finishedBatch(t *testing.T, st *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "payroll " + personName, Source: "hr.csv", ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	in := []store.NewRecord{
		{Input: pipeline.Input{Ref: "r1", Line: 2, Shape: pipeline.ShapeName, Name: personName, IDNumber: personID}},
		{Input: pipeline.Input{Ref: "r2", Line: 3, Shape: pipeline.ShapeName, Name: "李娜", IDNumber: "110101199003078515"}},
	}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	for _, status := range []pipeline.Status{pipeline.StatusDone, pipeline.StatusReview} {
		refs, err := st.ClaimPending(ctx, pipeline.EndpointExtention, 1)
		if err != nil || len(refs) != 1 {
			t.Fatalf("claim: %v %v", refs, err)
		}
		rec, err := st.Claim(ctx, refs[0])
		if err != nil {
			t.Fatal(err)
		}
		code := 1000
		o := pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: status, CountAttempt: true,
			Verdict: pipeline.Verdict{Result: "valid", Code: &code, Message: "ok"}}
		if err := st.Finish(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.SettleBatches(ctx); err != nil || n != 1 {
		t.Fatalf("settle: %d %v", n, err)
	}
	return b.ID
}

// receiver is a webhook receiver as a customer would write one: it
// verifies each delivery's signature and answers with the next status of
// its script (200 once the script is used up).
type receiver struct {
	*httptest.Server
	secret []byte
	mu     sync.Mutex
	script []int
	got    []delivered
}

type delivered struct {
	body     []byte
	header   http.Header
	verified error
}

func newReceiver(t *testing.T, secret string, script ...int) *receiver {
	r := &receiver{secret: []byte(secret), script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := webhook.Verify(r.secret, body, req.Header.Get(webhook.SignatureHeader), time.Now(), 0)
		r.mu.Lock()
		r.got = append(r.got, delivered{body: body, header: req.Header.Clone(), verified: err})
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strings.Repeat("x", 64<<10))) // more than the client reads
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// world is a store, a Redis and a running webhook server.
type world struct {
	st     *store.Store
	rdb    redis.UniversalClient
	client *asynq.Client
	cfg    webhook.Config
}

func newWorld(t *testing.T, cfg webhook.Config) *world {
	t.Helper()
	w := &world{st: storetest.Open(t), rdb: redis.NewClient(&redis.Options{Addr: testenv.Redis(t)}), cfg: cfg}
	t.Cleanup(func() { _ = w.rdb.Close() })
	w.client = asynq.NewClientFromRedisClient(w.rdb)
	srv := webhook.NewServer(w.rdb, w.st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *world) addEndpoint(t *testing.T, url, secret string, events ...webhook.EventType) webhook.Endpoint {
	t.Helper()
	ep, err := w.st.AddWebhookEndpoint(context.Background(), url, events, []byte(secret),
		store.AuditEntry{Operator: "test", Command: "webhooks-add"})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func (w *world) deliveryLog(t *testing.T, f store.DeliveryFilter) []webhook.Delivery {
	t.Helper()
	ds, err := w.st.ListWebhookDeliveries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// A receiver that answers 500 first gets the delivery again after the
// backoff, signed and verified both times, and the delivery log shows both
// attempts; the payload has ids, counts and links and none of the batch's
// personal data; a replay delivers it a third time, audited; the received
// body, tampered, no longer verifies.
func TestDeliveryRetriedLoggedAndReplayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, webhook.Config{AllowPrivate: true, RetryBase: 200 * time.Millisecond, BaseURL: "https://ivsbatch.example"})
	rcv := newReceiver(t, "whsec-receiver", http.StatusInternalServerError)
	ep := w.addEndpoint(t, rcv.URL+"/hooks?token=tok-9f8e7d", "whsec-receiver", webhook.BatchFinished)
	batch := finishedBatch(t, w.st)

	testenv.Eventually(t, 60*time.Second, func() bool { return len(w.deliveryLog(t, store.DeliveryFilter{})) >= 2 },
		func() string { return fmt.Sprintf("deliveries %+v", w.deliveryLog(t, store.DeliveryFilter{})) })
	got := rcv.deliveries()
	if len(got) != 2 {
		t.Fatalf("receiver got %d deliveries; want 2 (500, then 200)", len(got))
	}
	for i, d := range got {
		if d.verified != nil {
			t.Errorf("delivery %d: signature did not verify: %v", i+1, d.verified)
		}
		if string(d.body) != string(got[0].body) {
			t.Errorf("delivery %d body differs from the first: %s", i+1, d.body)
		}
	}
	body := string(got[0].body)
	for _, want := range []string{`"type":"batch.finished"`, fmt.Sprintf(`"batch_id":%d`, batch), `"done":1`, `"review":1`,
		fmt.Sprintf(`"console":"https://ivsbatch.example/batches/%d"`, batch)} {
		if !strings.Contains(body, want) {
			t.Errorf("payload %s: lacks %s", body, want)
		}
	}
	if sink.Mentions(body, personName, personID, "李娜", "110101199003078515", "payroll") {
		t.Errorf("payload carries personal data or the batch's name: %s", body)
	}
	if got[0].header.Get("Ivsbatch-Event-Type") != "batch.finished" || !strings.HasPrefix(got[0].header.Get("Ivsbatch-Event-Id"), "evt_") {
		t.Errorf("headers %v", got[0].header)
	}

	log := w.deliveryLog(t, store.DeliveryFilter{EndpointID: ep.ID})
	if len(log) != 2 || log[1].Attempt != 1 || log[1].StatusCode != 500 || log[1].Error != "answered 500" ||
		log[0].Attempt != 2 || log[0].StatusCode != 200 || log[0].Error != "" || log[0].EventType != webhook.BatchFinished ||
		log[0].BatchID != batch {
		t.Fatalf("delivery log %+v; want attempt 1 answered 500, attempt 2 200", log)
	}

	pairs, err := w.st.ReplayWebhook(ctx, store.WebhookReplay{DeliveryID: log[1].ID},
		store.AuditEntry{Operator: "test", Command: "webhooks-replay"}, func(ev, ep int64) error {
			return webhook.Enqueue(ctx, w.client, w.cfg, ev, ep, true)
		})
	if err != nil || len(pairs) != 1 {
		t.Fatalf("replay: %v %v", pairs, err)
	}
	testenv.Eventually(t, 60*time.Second, func() bool { return len(rcv.deliveries()) == 3 },
		func() string { return fmt.Sprintf("%d deliveries after the replay; want 3", len(rcv.deliveries())) })
	testenv.Eventually(t, 30*time.Second, func() bool { return len(w.deliveryLog(t, store.DeliveryFilter{})) == 3 },
		func() string { return "the replay's attempt is not logged" })
	if log := w.deliveryLog(t, store.DeliveryFilter{EventID: log[0].EventID}); log[0].Attempt != 3 || log[0].StatusCode != 200 {
		t.Fatalf("replayed attempt %+v; want attempt 3, 200", log[0])
	}
	if third := rcv.deliveries()[2]; third.verified != nil || string(third.body) != body {
		t.Fatalf("replay: verified %v, body %s; want the same payload, signed", third.verified, third.body)
	}
	audit, err := w.st.ListAudit(ctx, "webhooks-replay", 5)
	if err != nil || len(audit) != 1 {
		t.Fatalf("replay audit rows %+v %v; want one", audit, err)
	}

	tampered := strings.Replace(body, `"done":1`, `"done":2`, 1)
	if err := webhook.Verify([]byte("whsec-receiver"), []byte(tampered), got[0].header.Get(webhook.SignatureHeader),
		time.Now(), 0); err == nil {
		t.Fatal("a tampered body verified")
	}
}

// With private addresses denied (the default), a receiver on loopback is
// never called: the attempt is logged with the reason, and the url's
// query (a receiver's token) is not in it. A redirect is not followed.
func TestHostileEndpoints(t *testing.T) {
	t.Parallel()
	t.Run("private address", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, webhook.Config{RetryBase: 100 * time.Millisecond, MaxRetry: 1})
		rcv := newReceiver(t, "s")
		w.addEndpoint(t, rcv.URL+"/h?token=tok-5a4b3c", "s", webhook.BatchFinished)
		finishedBatch(t, w.st)
		testenv.Eventually(t, 60*time.Second, func() bool { return len(w.deliveryLog(t, store.DeliveryFilter{})) == 2 },
			func() string {
				return fmt.Sprintf("deliveries %+v; want 2 refused", w.deliveryLog(t, store.DeliveryFilter{}))
			})
		for _, d := range w.deliveryLog(t, store.DeliveryFilter{}) {
			if d.StatusCode != 0 || !strings.Contains(d.Error, "non-public address") || strings.Contains(d.Error, "tok-5a4b3c") {
				t.Errorf("attempt %+v; want refused as non-public, without the token", d)
			}
		}
		if n := len(rcv.deliveries()); n != 0 {
			t.Fatalf("the loopback receiver was called %d times", n)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, webhook.Config{AllowPrivate: true, RetryBase: 100 * time.Millisecond, MaxRetry: 1})
		rcv := newReceiver(t, "s", http.StatusFound, http.StatusFound)
		w.addEndpoint(t, rcv.URL+"/h", "s", webhook.BatchNeedsReview)
		finishedBatch(t, w.st)
		testenv.Eventually(t, 60*time.Second, func() bool { return len(w.deliveryLog(t, store.DeliveryFilter{})) == 2 },
			func() string { return fmt.Sprintf("deliveries %+v; want 2", w.deliveryLog(t, store.DeliveryFilter{})) })
		for _, d := range w.deliveryLog(t, store.DeliveryFilter{}) {
			if d.StatusCode != http.StatusFound || !strings.Contains(d.Error, "redirects are not followed") ||
				d.EventType != webhook.BatchNeedsReview {
				t.Errorf("attempt %+v; want 302 not followed, of batch.needs_review", d)
			}
		}
		if n := len(rcv.deliveries()); n != 2 {
			t.Fatalf("receiver called %d times; want 2 (no request to the redirect's target)", n)
		}
	})
}
