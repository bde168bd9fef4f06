package ops

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// minSecret is the shortest webhook signing secret accepted (bytes).
const minSecret = 16

// ReadWebhookSecret reads a signing secret from the file at path, or from
// stdin when path is "" or "-": its first line, at least 16 bytes.
func ReadWebhookSecret(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("webhook secret file: %w", err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	secret := strings.TrimRight(line, "\r\n")
	if len(secret) < minSecret {
		return nil, fmt.Errorf("webhook secret: %d bytes; want at least %d (ops webhooks add -generate makes one)", len(secret), minSecret)
	}
	return []byte(secret), nil
}

// NewWebhookSecret returns a random secret: "whsec_" and 32 random bytes,
// base64url.
func NewWebhookSecret() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte("whsec_" + base64.RawURLEncoding.EncodeToString(b)), nil
}

// AddWebhook stores an endpoint for events, its secret sealed; the audit
// row names the URL without its query (where receivers put tokens).
func AddWebhook(ctx context.Context, st *store.Store, url string, events []webhook.EventType, secret []byte,
	operator string) (webhook.Endpoint, error) {
	u, err := webhook.CheckURL(url)
	if err != nil {
		return webhook.Endpoint{}, err
	}
	return st.AddWebhookEndpoint(ctx, url, events, secret, store.AuditEntry{Operator: operator, Command: "webhooks-add",
		Args: map[string]any{"url": u.Scheme + "://" + u.Host + u.EscapedPath()}})
}

// RemoveWebhook stops deliveries to endpoint id, audited.
func RemoveWebhook(ctx context.Context, st *store.Store, id int64, operator string) error {
	return st.RemoveWebhookEndpoint(ctx, id, store.AuditEntry{Operator: operator, Command: "webhooks-remove",
		Args: map[string]any{"endpoint": id}})
}

// ReplayWebhook delivers again what sel names (a delivery's event to its
// endpoint, or an event to every endpoint subscribed to it): new tasks on
// the webhook queue, audited with reason. It returns the (event, endpoint)
// pairs.
func ReplayWebhook(ctx context.Context, st *store.Store, rdb redis.UniversalClient, cfg webhook.Config,
	sel store.WebhookReplay, operator, reason string) ([][2]int64, error) {
	client := asynq.NewClientFromRedisClient(rdb)
	return st.ReplayWebhook(ctx, sel, store.AuditEntry{Operator: operator, Command: "webhooks-replay", Reason: reason},
		func(ev, ep int64) error { return webhook.Enqueue(ctx, client, cfg, ev, ep, true) })
}

// PrintWebhookEndpoints writes endpoints as a table (never their secrets;
// URLs escaped for the terminal).
func PrintWebhookEndpoints(w io.Writer, eps []webhook.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tCREATED\tREMOVED")
	for _, ep := range eps {
		events := make([]string, len(ep.Events))
		for i, e := range ep.Events {
			events[i] = string(e)
		}
		removed := "-"
		if ep.RemovedAt != nil {
			removed = ep.RemovedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", ep.ID, sink.Terminal(ep.URL), strings.Join(events, ","),
			ep.CreatedAt.Format(time.RFC3339), removed)
	}
	tw.Flush()
}

// PrintWebhookDeliveries writes the delivery log as a table, newest first.
func PrintWebhookDeliveries(w io.Writer, ds []webhook.Delivery) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tEVENT\tTYPE\tBATCH\tENDPOINT\tATTEMPT\tSTATUS\tDURATION\tAT\tERROR")
	for _, d := range ds {
		status := "-"
		if d.StatusCode != 0 {
			status = fmt.Sprint(d.StatusCode)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.EventID, d.EventType, d.BatchID, d.EndpointID,
			d.Attempt, status, d.Duration, d.At.Format(time.RFC3339), sink.Terminal(d.Error))
	}
	tw.Flush()
}
