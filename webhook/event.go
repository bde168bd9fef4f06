// Package webhook tells other systems about batch events over HTTP: the
// event types and their payloads (ids, counts and links, never personal
// data), the signature receivers verify (Sign, Verify), the delivery of
// one event to one endpoint as an asynq task on its own queue (retried with
// backoff, every attempt logged), and the dispatcher that moves events from
// Postgres's outbox onto that queue.
//
// Events are written by Postgres itself in the transaction of the batch's
// transition (migration 00018), so each transition is one event however
// many workers saw it; this package never decides that a batch finished.
// Endpoints, events and deliveries are stored by package store.
package webhook

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EventType names a batch event.
type EventType string

// The event types.
const (
	BatchFinished        EventType = "batch.finished"         // no open records left; data: counts by status
	BatchPaused          EventType = "batch.paused"           // the account (cause "account", code) or an operator paused it
	BatchBudgetExhausted EventType = "batch.budget_exhausted" // a record was refused: the budget is used up
	BatchNeedsReview     EventType = "batch.needs_review"     // finished with records in review; data: review, counts
)

// EventTypes lists every event type.
var EventTypes = []EventType{BatchFinished, BatchPaused, BatchBudgetExhausted, BatchNeedsReview}

// ParseEventTypes reads a comma-separated list of event types ("all" for
// every one).
func ParseEventTypes(s string) ([]EventType, error) {
	if strings.TrimSpace(s) == "all" {
		return slices.Clone(EventTypes), nil
	}
	var out []EventType
	for name := range strings.SplitSeq(s, ",") {
		e := EventType(strings.TrimSpace(name))
		if !slices.Contains(EventTypes, e) {
			return nil, fmt.Errorf("unknown event %q: want all, or some of %s", e, joinTypes(EventTypes))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func joinTypes(ts []EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

// Event is one stored batch event. Data is what Postgres stored with it:
// counts by status, the pause's cause and code, the budget's cap.
type Event struct {
	ID        int64
	Type      EventType
	BatchID   int64
	Data      map[string]any
	CreatedAt time.Time
}

// Endpoint is a receiver of events. Its secret is never part of it: the
// store opens it only to sign a delivery.
type Endpoint struct {
	ID        int64
	URL       string
	Events    []EventType
	CreatedAt time.Time
	RemovedAt *time.Time
}

// Wants reports whether the endpoint subscribed to t.
func (e Endpoint) Wants(t EventType) bool { return slices.Contains(e.Events, t) }

// Payload is the JSON body of a delivery.
type Payload struct {
	ID        string    `json:"id"` // "evt_<event id>": the same in every attempt and replay (dedup on it)
	Type      EventType `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      Data      `json:"data"`
}

// Data is a payload's subject: the batch, its counts and links.
type Data struct {
	BatchID int64             `json:"batch_id"`
	Counts  map[string]int64  `json:"counts,omitempty"`
	Review  int64             `json:"review,omitempty"`      // batch.needs_review: records waiting in review
	Cause   string            `json:"cause,omitempty"`       // batch.paused: "account" or "operator"
	Code    string            `json:"code,omitempty"`        // batch.paused by the account: its code (IVS.0014 …)
	Max     int64             `json:"max_billed,omitempty"`  // batch.budget_exhausted: the cap
	Used    int64             `json:"budget_used,omitempty"` // batch.budget_exhausted: slots used
	Links   map[string]string `json:"links,omitempty"`
}

// PayloadID is the id of event id in payloads and the Ivsbatch-Event-Id
// header: "evt_<id>".
func PayloadID(id int64) string { return "evt_" + strconv.FormatInt(id, 10) }

// Body is the delivery's JSON body for e. Only the known fields of the
// stored data are copied, each typed (numbers and short codes): nothing
// else the event row might hold can reach a receiver. baseURL, when set,
// gives the links to the batch in the API and the console.
func Body(e Event, baseURL string) ([]byte, error) {
	p := Payload{ID: PayloadID(e.ID), Type: e.Type, CreatedAt: e.CreatedAt.UTC(),
		Data: Data{BatchID: e.BatchID, Review: number(e.Data["review"]), Cause: code(e.Data["cause"]),
			Code: code(e.Data["code"]), Max: number(e.Data["max_billed"]), Used: number(e.Data["budget_used"])}}
	if counts, ok := e.Data["counts"].(map[string]any); ok {
		p.Data.Counts = map[string]int64{}
		for status, n := range counts {
			p.Data.Counts[code(status)] = number(n)
		}
	}
	if baseURL != "" {
		base := strings.TrimRight(baseURL, "/")
		id := strconv.FormatInt(e.BatchID, 10)
		p.Data.Links = map[string]string{"api": base + "/api/v1/batches/" + id, "console": base + "/batches/" + id}
	}
	return json.Marshal(p)
}

// number reads a JSON number (float64 or json.Number); anything else is 0.
func number(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}

// code keeps a short code ([A-Za-z0-9._-], at most 40 characters) and
// drops anything else: a code never carries free text.
func code(v any) string {
	s, _ := v.(string)
	if len(s) > 40 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return ""
		}
	}
	return s
}

// CheckURL refuses an endpoint URL that is not absolute http(s) with a
// host, or that carries credentials or a fragment. Where it resolves to is
// checked at every connection (see Client).
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("webhook: endpoint url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("webhook: endpoint url scheme %q: want http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("webhook: endpoint url without a host")
	case u.User != nil:
		return nil, fmt.Errorf("webhook: endpoint url with credentials: put none in the url")
	case u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("webhook: endpoint url with a fragment or opaque part")
	}
	return u, nil
}
