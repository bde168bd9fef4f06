package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Queue is the asynq queue of deliveries, served by its own server in each
// worker process (never paused with the IVS queues), and TaskType its task
// type.
const (
	Queue    = "webhooks"
	TaskType = "webhook:deliver"
)

// retention keeps a delivered task's id in Redis for a day, so that a
// dispatcher that enqueued it and died before marking the event
// dispatched enqueues nothing twice.
const retention = 24 * time.Hour

// Delivery is one attempt to deliver an event to an endpoint, as the
// delivery log keeps it.
type Delivery struct {
	ID         int64
	EventID    int64
	EventType  EventType
	BatchID    int64
	EndpointID int64
	Attempt    int    // 1 for the first attempt of this event to this endpoint, replays included
	StatusCode int    // 0: no answer
	Error      string // sanitised; "" when delivered
	Duration   time.Duration
	At         time.Time
}

// Store is what deliveries need from Postgres (package store implements it).
type Store interface {
	// WebhookEvent returns event id (pipeline.ErrNotFound when there is none).
	WebhookEvent(ctx context.Context, id int64) (Event, error)
	// WebhookEndpoint returns endpoint id and its secret, opened.
	WebhookEndpoint(ctx context.Context, id int64) (Endpoint, []byte, error)
	// LogWebhookDelivery appends d to the delivery log, numbering its attempt.
	LogWebhookDelivery(ctx context.Context, d Delivery) error
	// DispatchWebhookEvents passes up to limit undispatched events, with the
	// current endpoints subscribed to each, to enqueue, and marks them
	// dispatched when it returned nil; concurrent dispatchers skip each
	// other's events. It returns how many it dispatched.
	DispatchWebhookEvents(ctx context.Context, limit int, enqueue func(Event, []Endpoint) error) (int, error)
}

// taskPayload is a delivery task's payload.
type taskPayload struct {
	EventID    int64 `json:"event_id"`
	EndpointID int64 `json:"endpoint_id"`
}

// NewTask returns the task delivering event to endpoint. A dispatched task
// has the id "webhook:<event>:<endpoint>" (enqueued once); a replay has
// none of its own (asynq's).
func NewTask(cfg Config, eventID, endpointID int64, replay bool) *asynq.Task {
	cfg = cfg.WithDefaults()
	payload, _ := json.Marshal(taskPayload{EventID: eventID, EndpointID: endpointID}) // two numbers
	opts := []asynq.Option{asynq.Queue(Queue), asynq.MaxRetry(cfg.MaxRetry),
		asynq.Timeout(cfg.Timeout + 5*time.Second), asynq.Retention(retention)}
	if !replay {
		opts = append(opts, asynq.TaskID(TaskID(eventID, endpointID)))
	}
	return asynq.NewTask(TaskType, payload, opts...)
}

// TaskID is the id of the dispatched task delivering event to endpoint.
func TaskID(eventID, endpointID int64) string {
	return "webhook:" + strconv.FormatInt(eventID, 10) + ":" + strconv.FormatInt(endpointID, 10)
}

// Enqueue puts the delivery of event to endpoint on the queue. A
// dispatched task already there (or delivered within a day) is left alone.
func Enqueue(ctx context.Context, client *asynq.Client, cfg Config, eventID, endpointID int64, replay bool) error {
	_, err := client.EnqueueContext(ctx, NewTask(cfg, eventID, endpointID, replay))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook: enqueue event %d for endpoint %d: %w", eventID, endpointID, err)
	}
	return nil
}

// Deliverer is the handler of delivery tasks.
type Deliverer struct {
	Store  Store
	Config Config
	Client *Client
	Log    *slog.Logger
	Now    func() time.Time
}

// NewDeliverer returns a deliverer with a Client made from cfg.
func NewDeliverer(st Store, cfg Config, log *slog.Logger) *Deliverer {
	cfg = cfg.WithDefaults()
	return &Deliverer{Store: st, Config: cfg, Log: log, Now: time.Now,
		Client: NewClient(cfg.Timeout, cfg.AllowPrivate, cfg.MaxResponse)}
}

// ProcessTask delivers one event to one endpoint and logs the attempt. An
// error (no 2xx answer) makes asynq retry it after Config.Backoff; an
// event or endpoint that is gone (removed endpoint) ends the task.
func (d *Deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.EventID <= 0 || p.EndpointID <= 0 {
		return fmt.Errorf("%w: malformed delivery task", asynq.SkipRetry)
	}
	ev, err := d.Store.WebhookEvent(ctx, p.EventID)
	if err != nil {
		return err
	}
	ep, secret, err := d.Store.WebhookEndpoint(ctx, p.EndpointID)
	if err != nil {
		return err
	}
	if ep.RemovedAt != nil {
		d.Log.Info("webhook endpoint removed: event not delivered", "event", ev.ID, "endpoint", ep.ID)
		return fmt.Errorf("%w: endpoint %d removed", asynq.SkipRetry, ep.ID)
	}
	body, err := Body(ev, d.Config.BaseURL)
	if err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	start := d.Now()
	status, perr := d.Client.Post(ctx, ep.URL, secret, body, ev, start)
	dl := Delivery{EventID: ev.ID, EndpointID: ep.ID, StatusCode: status, Error: sanitise(perr, ep.URL),
		Duration: d.Now().Sub(start)}
	if err := d.Store.LogWebhookDelivery(context.WithoutCancel(ctx), dl); err != nil {
		d.Log.Warn("webhook delivery log", "event", ev.ID, "endpoint", ep.ID, "err", err)
	}
	if perr != nil {
		d.Log.Info("webhook delivery failed; asynq retries it", "event", ev.ID, "endpoint", ep.ID, "status", status,
			"err", dl.Error)
		return fmt.Errorf("webhook: event %d to endpoint %d: %s", ev.ID, ep.ID, dl.Error)
	}
	return nil
}
