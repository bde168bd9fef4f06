package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// This file stores webhook endpoints, events (the outbox the triggers of
// migration 00018 write) and the delivery log; it implements webhook.Store.

// endpointAAD binds a sealed endpoint secret to its endpoint.
func endpointAAD(id int64) []byte {
	return []byte("ivsbatch/webhook-endpoint/" + strconv.FormatInt(id, 10))
}

// AddWebhookEndpoint stores an endpoint with its secret sealed (the keyring
// is required), audited in the same transaction without the secret.
func (s *Store) AddWebhookEndpoint(ctx context.Context, url string, events []webhook.EventType, secret []byte,
	a AuditEntry) (webhook.Endpoint, error) {
	ep := webhook.Endpoint{URL: url, Events: events}
	if s.keys == nil {
		return ep, fmt.Errorf("store: add webhook endpoint: the secret is sealed: %w", pii.ErrNoKeys)
	}
	if len(secret) == 0 {
		return ep, errors.New("store: add webhook endpoint: empty secret")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO webhook_endpoints (url, events) VALUES ($1, $2) RETURNING id, created_at`,
			url, eventStrings(events)).Scan(&ep.ID, &ep.CreatedAt)
		if err != nil {
			return err
		}
		sealed, err := s.keys.SealFor(string(secret), endpointAAD(ep.ID))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET secret_enc = $2 WHERE id = $1`, ep.ID, sealed); err != nil {
			return err
		}
		a.Result = map[string]any{"endpoint": ep.ID, "events": eventStrings(events)}
		return AuditTx(ctx, tx, a)
	})
	if err != nil {
		return ep, fmt.Errorf("store: add webhook endpoint: %w", err)
	}
	return ep, nil
}

// RemoveWebhookEndpoint stops deliveries to endpoint id (kept, with
// removed_at, for its delivery log), audited in the same transaction.
func (s *Store) RemoveWebhookEndpoint(ctx context.Context, id int64, a AuditEntry) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET removed_at = now() WHERE id = $1 AND removed_at IS NULL`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("endpoint %d (or not removed yet): %w", id, pipeline.ErrNotFound)
		}
		a.Result = map[string]any{"endpoint": id}
		return AuditTx(ctx, tx, a)
	})
	if err != nil {
		return fmt.Errorf("store: remove webhook endpoint: %w", err)
	}
	return nil
}

const endpointColumns = `id, url, events, created_at, removed_at`

func scanEndpoint(row pgx.Row, ep *webhook.Endpoint, more ...any) error {
	var events []string
	if err := row.Scan(append([]any{&ep.ID, &ep.URL, &events, &ep.CreatedAt, &ep.RemovedAt}, more...)...); err != nil {
		return err
	}
	ep.Events = make([]webhook.EventType, len(events))
	for i, e := range events {
		ep.Events[i] = webhook.EventType(e)
	}
	return nil
}

// ListWebhookEndpoints lists the endpoints, removed ones too when all is set.
func (s *Store) ListWebhookEndpoints(ctx context.Context, all bool) ([]webhook.Endpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE $1 OR removed_at IS NULL ORDER BY id`, all)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []webhook.Endpoint
	for rows.Next() {
		var ep webhook.Endpoint
		if err := scanEndpoint(rows, &ep); err != nil {
			return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
		}
		out = append(out, ep)
	}
	return out, rows.Err()
}

// WebhookEndpoint implements webhook.Store: the endpoint and its secret.
func (s *Store) WebhookEndpoint(ctx context.Context, id int64) (webhook.Endpoint, []byte, error) {
	var ep webhook.Endpoint
	var sealed string
	err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+`, secret_enc FROM webhook_endpoints WHERE id = $1`, id),
		&ep, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return ep, nil, fmt.Errorf("store: webhook endpoint %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return ep, nil, fmt.Errorf("store: webhook endpoint %d: %w", id, err)
	}
	secret, err := s.keys.OpenFor(sealed, endpointAAD(id))
	if err != nil {
		return ep, nil, fmt.Errorf("store: webhook endpoint %d secret: %w", id, err)
	}
	return ep, []byte(secret), nil
}

const eventColumns = `id, type, batch_id, data, created_at`

func scanEvent(row pgx.Row, ev *webhook.Event) error {
	var typ string
	var data []byte
	if err := row.Scan(&ev.ID, &typ, &ev.BatchID, &data, &ev.CreatedAt); err != nil {
		return err
	}
	ev.Type = webhook.EventType(typ)
	return json.Unmarshal(data, &ev.Data)
}

// WebhookEvent implements webhook.Store.
func (s *Store) WebhookEvent(ctx context.Context, id int64) (webhook.Event, error) {
	var ev webhook.Event
	err := scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM webhook_events WHERE id = $1`, id), &ev)
	if errors.Is(err, pgx.ErrNoRows) {
		return ev, fmt.Errorf("store: webhook event %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return ev, fmt.Errorf("store: webhook event %d: %w", id, err)
	}
	return ev, nil
}

// ListWebhookEvents lists the latest events, newest first (batch 0: every batch).
func (s *Store) ListWebhookEvents(ctx context.Context, batchID int64, limit int) ([]webhook.Event, error) {
	where, args := "", []any{limit}
	if batchID != 0 { // through the unique key (batch_id, type, transition)
		where, args = "WHERE batch_id = $2", append(args, batchID)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM webhook_events `+where+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook events: %w", err)
	}
	defer rows.Close()
	var out []webhook.Event
	for rows.Next() {
		var ev webhook.Event
		if err := scanEvent(rows, &ev); err != nil {
			return nil, fmt.Errorf("store: list webhook events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// DispatchWebhookEvents implements webhook.Store: in one transaction, the
// oldest undispatched events (locked, skipping those another dispatcher
// holds) are passed with their subscribed endpoints to enqueue, then
// marked dispatched.
func (s *Store) DispatchWebhookEvents(ctx context.Context, limit int,
	enqueue func(webhook.Event, []webhook.Endpoint) error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM webhook_events WHERE dispatched_at IS NULL
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Event, error) {
			var ev webhook.Event
			return ev, scanEvent(r, &ev)
		})
		if err != nil || len(events) == 0 {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE removed_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		endpoints, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Endpoint, error) {
			var ep webhook.Endpoint
			return ep, scanEndpoint(r, &ep)
		})
		if err != nil {
			return err
		}
		ids := make([]int64, len(events))
		for i, ev := range events {
			var to []webhook.Endpoint
			for _, ep := range endpoints {
				if ep.Wants(ev.Type) {
					to = append(to, ep)
				}
			}
			if err := enqueue(ev, to); err != nil {
				return err
			}
			ids[i] = ev.ID
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_events SET dispatched_at = now() WHERE id = ANY ($1)`, ids)
		n = len(ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: dispatch webhook events: %w", err)
	}
	return n, nil
}

// LogWebhookDelivery implements webhook.Store: the attempt is numbered
// after the pair's previous ones (replays continue the count).
func (s *Store) LogWebhookDelivery(ctx context.Context, d webhook.Delivery) error {
	var status *int
	if d.StatusCode != 0 {
		status = &d.StatusCode
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (event_id, endpoint_id, attempt, status_code, error, duration_ms)
		SELECT $1, $2, coalesce(max(attempt), 0) + 1, $3, $4, $5 FROM webhook_deliveries
		WHERE event_id = $1 AND endpoint_id = $2`,
		d.EventID, d.EndpointID, status, d.Error, int(d.Duration/time.Millisecond))
	if err != nil {
		return fmt.Errorf("store: log webhook delivery: %w", err)
	}
	return nil
}

// DeliveryFilter selects deliveries (zero fields do not filter).
type DeliveryFilter struct {
	EventID    int64
	EndpointID int64
	Limit      int // default 50
}

// ListWebhookDeliveries lists deliveries, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]webhook.Delivery, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	// Only the filters given are in the query, so that the plan is the
	// index's (webhook_deliveries_event for an event, the primary key
	// backwards otherwise) whatever the plan cache holds.
	where, args := "TRUE", []any{f.Limit}
	if f.EventID != 0 {
		args = append(args, f.EventID)
		where += fmt.Sprintf(" AND d.event_id = $%d", len(args))
	}
	if f.EndpointID != 0 {
		args = append(args, f.EndpointID)
		where += fmt.Sprintf(" AND d.endpoint_id = $%d", len(args))
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.event_id, e.type, e.batch_id, d.endpoint_id, d.attempt,
		       coalesce(d.status_code, 0), d.error, d.duration_ms, d.at
		FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
		WHERE `+where+` ORDER BY d.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		var d webhook.Delivery
		var typ string
		var ms int
		if err := rows.Scan(&d.ID, &d.EventID, &typ, &d.BatchID, &d.EndpointID, &d.Attempt, &d.StatusCode, &d.Error,
			&ms, &d.At); err != nil {
			return nil, fmt.Errorf("store: list webhook deliveries: %w", err)
		}
		d.EventType, d.Duration = webhook.EventType(typ), time.Duration(ms)*time.Millisecond
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookReplay selects what to deliver again: one delivery's event and
// endpoint, or an event to every current endpoint subscribed to it.
type WebhookReplay struct {
	DeliveryID int64
	EventID    int64
}

// ReplayWebhook resolves r to (event, endpoint) pairs, writes the audit
// row and calls enqueue for each pair, in one transaction: the audit row
// is stored only if every pair was enqueued. It returns the pairs.
func (s *Store) ReplayWebhook(ctx context.Context, r WebhookReplay, a AuditEntry,
	enqueue func(eventID, endpointID int64) error) ([][2]int64, error) {
	var pairs [][2]int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rows pgx.Rows
		var err error
		if r.DeliveryID != 0 {
			rows, err = tx.Query(ctx, `SELECT event_id, endpoint_id FROM webhook_deliveries WHERE id = $1`, r.DeliveryID)
		} else {
			rows, err = tx.Query(ctx, `SELECT e.id, p.id FROM webhook_events e
				JOIN webhook_endpoints p ON p.removed_at IS NULL AND e.type = ANY (p.events)
				WHERE e.id = $1 ORDER BY p.id`, r.EventID)
		}
		if err != nil {
			return err
		}
		if pairs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) ([2]int64, error) {
			var p [2]int64
			return p, row.Scan(&p[0], &p[1])
		}); err != nil {
			return err
		}
		if len(pairs) == 0 {
			return fmt.Errorf("nothing to replay (delivery %d, event %d): %w", r.DeliveryID, r.EventID, pipeline.ErrNotFound)
		}
		a.Args = map[string]any{"delivery": r.DeliveryID, "event": r.EventID}
		a.Result = map[string]any{"pairs": pairs}
		if err := AuditTx(ctx, tx, a); err != nil {
			return err
		}
		for _, p := range pairs {
			if err := enqueue(p[0], p[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: replay webhook: %w", err)
	}
	return pairs, nil
}

func eventStrings(ts []webhook.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}
