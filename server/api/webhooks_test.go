package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/server/api"
	"github.com/ivsbatch/ivsbatch/server/servertest"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// A viewer reads the webhook delivery log, newest first, by event or
// endpoint; bad parameters are problems; no token, no log.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, servertest.Options{})
	ctx := t.Context()
	viewer := client{t, env, env.Client(), env.Token("dash", auth.Viewer)}
	ep, err := env.Store.AddWebhookEndpoint(ctx, "https://erp.example/h", webhook.EventTypes, []byte("whsec-api-test-01"),
		store.AuditEntry{Operator: "t", Command: "webhooks-add"})
	if err != nil {
		t.Fatal(err)
	}
	var event int64
	if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO webhook_events (type, batch_id, transition)
		VALUES ('batch.finished', 42, 't') RETURNING id`).Scan(&event); err != nil {
		t.Fatal(err)
	}
	for _, d := range []webhook.Delivery{{StatusCode: 500, Error: "answered 500"}, {StatusCode: 200}} {
		d.EventID, d.EndpointID, d.Duration = event, ep.ID, 12*time.Millisecond
		if err := env.Store.LogWebhookDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var got api.WebhookDeliveries
	if resp := viewer.json("GET", fmt.Sprintf("/api/v1/webhooks/deliveries?event_id=%d", event), nil, &got); resp.StatusCode != 200 {
		t.Fatalf("deliveries: %s", resp.Status)
	}
	if d := got.Deliveries; len(d) != 2 || d[0].Attempt != 2 || d[0].StatusCode != 200 || d[1].Attempt != 1 ||
		d[1].StatusCode != 500 || d[1].Error != "answered 500" || d[0].EventType != "batch.finished" || d[0].BatchID != 42 ||
		d[0].DurationMS != 12 {
		t.Fatalf("deliveries %+v; want attempt 2 (200) then attempt 1 (500)", d)
	}
	if viewer.json("GET", "/api/v1/webhooks/deliveries?endpoint_id=999", nil, &got); len(got.Deliveries) != 0 {
		t.Fatalf("another endpoint's deliveries: %+v", got.Deliveries)
	}
	for _, q := range []string{"?event_id=x", "?limit=0", "?endpoint_id=-1"} {
		if resp := viewer.json("GET", "/api/v1/webhooks/deliveries"+q, nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s; want 400", q, resp.Status)
		}
	}
	anon := client{t, env, env.Client(), ""}
	if resp, _ := anon.do("GET", "/api/v1/webhooks/deliveries", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %s; want 401", resp.Status)
	}
}
