package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// A batch run end to end by two shipped workers (workermain) tells a
// subscribed receiver once that it finished: one batch.finished event and
// one delivery, signed, however many feeders saw the batch settle.
func TestWebhookBatchFinishedOnce(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	var mu sync.Mutex
	finished := map[int64]int{}
	var bad []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify([]byte("whsec-e2e"), body, r.Header.Get(webhook.SignatureHeader), time.Now(), 0); err != nil {
			bad = append(bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			bad = append(bad, err.Error())
		}
		if p.Type == webhook.BatchFinished {
			finished[p.Data.BatchID]++
		}
	}))
	t.Cleanup(rcv.Close)
	if _, err := h.st.AddWebhookEndpoint(h.ctx, rcv.URL+"/ivsbatch", webhook.EventTypes, []byte("whsec-e2e"),
		store.AuditEntry{Operator: "e2e", Command: "webhooks-add"}); err != nil {
		t.Fatal(err)
	}
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2})
	h.wait(batch, 3*time.Minute)
	count := func() (int, []string) {
		mu.Lock()
		defer mu.Unlock()
		return finished[batch], append([]string(nil), bad...)
	}
	testenv.Eventually(t, time.Minute, func() bool { n, _ := count(); return n > 0 },
		func() string {
			_, bad := count()
			return fmt.Sprintf("no batch.finished delivered for batch %d (bad: %v)", batch, bad)
		})
	// Let the feeders of both workers settle again a few times.
	time.Sleep(3 * time.Second)
	if n, bad := count(); n != 1 || len(bad) > 0 {
		t.Fatalf("batch.finished delivered %d times (bad deliveries %v); want once", n, bad)
	}
	evs, err := h.st.ListWebhookEvents(h.ctx, batch, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == webhook.BatchFinished {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d batch.finished events stored for batch %d; want 1", n, batch)
	}
}
