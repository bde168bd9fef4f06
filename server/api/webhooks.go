package api

import (
	"net/http"
	"time"

	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// WebhookDelivery is one attempt of the webhook delivery log (as ops
// webhooks deliveries prints it).
type WebhookDelivery struct {
	ID         int64     `json:"id"`
	EventID    int64     `json:"event_id"`
	EventType  string    `json:"event_type"`
	BatchID    int64     `json:"batch_id"`
	EndpointID int64     `json:"endpoint_id"`
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code,omitempty"` // absent: no answer
	Error      string    `json:"error,omitempty"`       // sanitised
	DurationMS int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// WebhookDeliveries is a page of the delivery log, newest first.
type WebhookDeliveries struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
}

// webhookDeliveries: GET /api/v1/webhooks/deliveries?event_id=&endpoint_id=&limit=50.
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	event, err := intParam(q.Get("event_id"), 0)
	if err != nil || event < 0 {
		server.Error(w, http.StatusBadRequest, "bad_param", "event_id: want an event id")
		return
	}
	endpoint, err := intParam(q.Get("endpoint_id"), 0)
	if err != nil || endpoint < 0 {
		server.Error(w, http.StatusBadRequest, "bad_param", "endpoint_id: want an endpoint id")
		return
	}
	limit, err := intParam(q.Get("limit"), 50)
	if err != nil || limit < 1 || limit > 500 {
		server.Error(w, http.StatusBadRequest, "bad_param", "limit: want 1 to 500")
		return
	}
	ds, err := a.Store.ListWebhookDeliveries(r.Context(), store.DeliveryFilter{EventID: int64(event),
		EndpointID: int64(endpoint), Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := WebhookDeliveries{Deliveries: []WebhookDelivery{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: string(d.EventType),
			BatchID: d.BatchID, EndpointID: d.EndpointID, Attempt: d.Attempt, StatusCode: d.StatusCode, Error: d.Error,
			DurationMS: d.Duration.Milliseconds(), At: d.At})
	}
	writeJSON(w, http.StatusOK, out)
}
