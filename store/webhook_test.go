package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// eventsOf returns the types of batch's webhook events, oldest first.
func eventsOf(t *testing.T, st *store.Store, batch int64) []webhook.EventType {
	t.Helper()
	evs, err := st.ListWebhookEvents(context.Background(), batch, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []webhook.EventType
	for _, e := range slices.Backward(evs) {
		out = append(out, e.Type)
	}
	return out
}

// namedBatch stores a batch of n pending records (with a name and an id
// number each) whose manifest is named name.
func namedBatch(t *testing.T, st *store.Store, name string, n int) int64 {
	t.Helper()
	ctx := context.Background()
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: name, Source: name + ".csv", ManifestSHA256: t.Name() + name})
	if err != nil {
		t.Fatal(err)
	}
	var in []store.NewRecord
	for i := range n {
		in = append(in, store.NewRecord{Input: pipeline.Input{Ref: fmt.Sprintf("r%d", i), Line: i + 2,
			Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}})
	}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// A batch's transitions write one event each, in their own transaction,
// whoever makes them: finishing (settled by several feeders at once) is one
// batch.finished, with batch.needs_review when records wait in review; a
// requeue and a second finish is a second one; the account's pause is one
// batch.paused per open batch and pause; budget refusals are one event per
// cap.
func TestWebhookEventsFollowBatchTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	a := opsBatch(t, st, 2)
	finishAs(t, st, pipeline.StatusDone, "")
	finishAs(t, st, pipeline.StatusReview, "IVS.0201")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := st.SettleBatches(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := eventsOf(t, st, a), []webhook.EventType{webhook.BatchFinished, webhook.BatchNeedsReview}; !slices.Equal(got, want) {
		t.Fatalf("after settling from 4 feeders: events %v; want %v", got, want)
	}
	evs, _ := st.ListWebhookEvents(ctx, a, 10)
	counts, _ := evs[1].Data["counts"].(map[string]any)
	if counts["done"] != float64(1) || counts["review"] != float64(1) {
		t.Fatalf("batch.finished data %v; want counts done 1, review 1", evs[1].Data)
	}

	// Paused by the account: the open batch gets batch.paused, once per pause.
	b := namedBatch(t, st, "second", 3)
	if err := st.SetPaused(ctx, "IVS.0014", "quota used up"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPaused(ctx, "IVS.0014", "still"); err != nil {
		t.Fatal(err)
	}
	if got := eventsOf(t, st, b); !slices.Equal(got, []webhook.EventType{webhook.BatchPaused}) {
		t.Fatalf("account paused twice: events %v; want one batch.paused", got)
	}
	if got := eventsOf(t, st, a); len(got) != 2 {
		t.Fatalf("finished batch got events from the pause: %v", got)
	}
	if err := st.ClearPaused(ctx); err != nil {
		t.Fatal(err)
	}

	// The budget: two records refused at the cap are one event; a new cap
	// used up again is another.
	if _, err := st.SetBudget(ctx, b, 1, nil); err != nil {
		t.Fatal(err)
	}
	finishAs(t, st, pipeline.StatusFailed, pipeline.ErrorBudgetExhausted)
	finishAs(t, st, pipeline.StatusFailed, pipeline.ErrorBudgetExhausted)
	if _, err := st.SetBudget(ctx, b, 2, nil); err != nil {
		t.Fatal(err)
	}
	finishAs(t, st, pipeline.StatusFailed, pipeline.ErrorBudgetExhausted)
	want := []webhook.EventType{webhook.BatchPaused, webhook.BatchBudgetExhausted, webhook.BatchBudgetExhausted}
	if got := eventsOf(t, st, b); !slices.Equal(got, want) {
		t.Fatalf("budget refusals at caps 1, 1, 2: events %v; want %v", got, want)
	}

	// Dispatching marks each event once, with the endpoints that want it.
	ep, err := st.AddWebhookEndpoint(ctx, "https://receiver.example/hook", []webhook.EventType{webhook.BatchFinished},
		[]byte("whsec-test"), store.AuditEntry{Operator: "t", Command: "webhooks-add"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[webhook.EventType][]int64{}
	n, err := st.DispatchWebhookEvents(ctx, 100, func(ev webhook.Event, eps []webhook.Endpoint) error {
		for _, e := range eps {
			got[ev.Type] = append(got[ev.Type], e.ID)
		}
		return nil
	})
	if err != nil || n != 5 || len(got) != 1 || !slices.Equal(got[webhook.BatchFinished], []int64{ep.ID}) {
		t.Fatalf("dispatch: %d events, %v, %v; want 5 events, batch.finished to endpoint %d only", n, got, err, ep.ID)
	}
	if n, err := st.DispatchWebhookEvents(ctx, 100, nil); n != 0 || err != nil {
		t.Fatalf("dispatch again: %d %v; want nothing", n, err)
	}
	_, secret, err := st.WebhookEndpoint(ctx, ep.ID)
	if err != nil || string(secret) != "whsec-test" {
		t.Fatalf("endpoint secret: %q %v", secret, err)
	}
	var sealed string
	if err := st.Pool().QueryRow(ctx, `SELECT secret_enc FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&sealed); err != nil ||
		sealed == "" || strings.Contains(sealed, "whsec") {
		t.Fatalf("stored secret %q (%v): want it sealed", sealed, err)
	}
}
