package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/webhook"
)

const webhooksAbout = `Webhooks tell other systems about batch events: batch.finished,
batch.paused (by the account: quota, arrears, credentials, worker pause; or
by an operator), batch.budget_exhausted and batch.needs_review. Every worker
delivers them (POST, JSON: ids, counts and links, never personal data),
signed with the endpoint's secret in the Ivsbatch-Signature header
(t=UNIX,v1=HEX HMAC-SHA256(secret, "t.body"); see README), retried with
backoff when the receiver does not answer 2xx, every attempt in the
delivery log.

  ops webhooks add -url URL -events E1,E2|all (-secret-file F | -generate | secret on stdin)
  ops webhooks list [-all]
  ops webhooks remove -id N
  ops webhooks deliveries [-event ID] [-endpoint ID] [-limit N]
  ops webhooks replay -delivery ID | -event ID [-reason TEXT]`

func webhooks(ctx context.Context, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "add":
		return webhooksAdd(ctx, args)
	case "list":
		return webhooksList(ctx, args)
	case "remove":
		return webhooksRemove(ctx, args)
	case "deliveries":
		return webhooksDeliveries(ctx, args)
	case "replay":
		return webhooksReplay(ctx, args)
	}
	fs := newFlags("webhooks", "add|list|remove|deliveries|replay [flags]", webhooksAbout,
		"  ops webhooks add -url https://erp.example/ivsbatch -events all -secret-file /run/secrets/hook\n")
	switch sub {
	case "":
		return usageError(fs, "a subcommand is required")
	case "-h", "-help", "--help":
		fs.Usage()
		return nil
	}
	return usageError(fs, "unknown subcommand %q", sub)
}

func webhooksAdd(ctx context.Context, args []string) error {
	fs := newFlags("webhooks add", "-url URL -events LIST [-secret-file F | -generate]",
		`Adds an endpoint. The URL must be http(s); at delivery its address must be
public unless IVSBATCH_WEBHOOK_ALLOW_PRIVATE=true. The signing secret comes
from -secret-file, or stdin (first line, at least 16 bytes), or -generate
(printed here, once). It is sealed with the personal-data keys
(IVSBATCH_PII_KEYS) and never printed again.`,
		`  ops webhooks add -url https://erp.example/ivsbatch -events all -secret-file /run/secrets/hook
  printf '%s\n' "$SECRET" | ops webhooks add -url https://erp.example/h -events batch.finished,batch.needs_review
  ops webhooks add -url https://erp.example/h -events batch.finished -generate
`)
	url := fs.String("url", "", "where to POST events (required)")
	events := fs.String("events", "", "comma-separated event types, or all (required)")
	secretFile := fs.String("secret-file", "", "file holding the signing secret (default: stdin)")
	generate := fs.Bool("generate", false, "make a random secret and print it once")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *url == "" || *events == "" {
		return usageError(fs, "-url and -events are required")
	}
	types, err := webhook.ParseEventTypes(*events)
	if err != nil {
		return usageError(fs, "-events: %v", err)
	}
	if _, err := webhook.CheckURL(*url); err != nil {
		return usageError(fs, "-url: %v", err)
	}
	var secret []byte
	if *generate {
		secret, err = ops.NewWebhookSecret()
	} else {
		secret, err = ops.ReadWebhookSecret(*secretFile, os.Stdin)
	}
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ep, err := ops.AddWebhook(ctx, st, *url, types, secret, *operator)
	if err != nil {
		return err
	}
	fmt.Printf("endpoint %d added\n", ep.ID)
	if *generate {
		fmt.Printf("secret (shown once): %s\n", secret)
	}
	return nil
}

func webhooksList(ctx context.Context, args []string) error {
	fs := newFlags("webhooks list", "[-all]", "Lists the endpoints (never their secrets).", "  ops webhooks list\n  ops webhooks list -all\n")
	all := fs.Bool("all", false, "include removed endpoints")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	eps, err := st.ListWebhookEndpoints(ctx, *all)
	if err != nil {
		return err
	}
	ops.PrintWebhookEndpoints(os.Stdout, eps)
	return nil
}

func webhooksRemove(ctx context.Context, args []string) error {
	fs := newFlags("webhooks remove", "-id N", `Stops deliveries to an endpoint (its delivery log stays);
deliveries already queued for it end without a request.`, "  ops webhooks remove -id 3\n")
	id := fs.Int64("id", 0, "endpoint id (required)")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id <= 0 {
		return usageError(fs, "-id is required")
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := ops.RemoveWebhook(ctx, st, *id, *operator); err != nil {
		return err
	}
	fmt.Printf("endpoint %d removed\n", *id)
	return nil
}

func webhooksDeliveries(ctx context.Context, args []string) error {
	fs := newFlags("webhooks deliveries", "[-event ID] [-endpoint ID] [-limit N]",
		`Lists delivery attempts, newest first: event, endpoint, attempt number
(replays continue it), the receiver's status code or the error, duration.`,
		"  ops webhooks deliveries\n  ops webhooks deliveries -event 42\n")
	event := fs.Int64("event", 0, "only this event's attempts")
	endpoint := fs.Int64("endpoint", 0, "only this endpoint's attempts")
	limit := fs.Int("limit", 50, "most rows")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ds, err := st.ListWebhookDeliveries(ctx, store.DeliveryFilter{EventID: *event, EndpointID: *endpoint, Limit: *limit})
	if err != nil {
		return err
	}
	ops.PrintWebhookDeliveries(os.Stdout, ds)
	return nil
}

func webhooksReplay(ctx context.Context, args []string) error {
	fs := newFlags("webhooks replay", "-delivery ID | -event ID [-reason TEXT]",
		`Delivers an event again, as a new task on the webhook queue (retried like
the first): -delivery sends that attempt's event to its endpoint, -event
sends the event to every endpoint now subscribed to it. Audited. Receivers
see the same payload and event id (deduplicate on it).`,
		"  ops webhooks replay -delivery 118\n  ops webhooks replay -event 42 -reason \"ERP was down\"\n")
	delivery := fs.Int64("delivery", 0, "replay this delivery's event to its endpoint")
	event := fs.Int64("event", 0, "replay this event to every subscribed endpoint")
	reason := fs.String("reason", "", "why, for the audit log")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*delivery == 0) == (*event == 0) {
		return usageError(fs, "give one of -delivery and -event")
	}
	cfg, err := config.Webhook(os.Getenv, webhook.Config{}.WithDefaults())
	if err != nil {
		return err
	}
	env, err := open(ctx, cmdenv.Store|cmdenv.Redis)
	if err != nil {
		return err
	}
	defer env.Close()
	pairs, err := ops.ReplayWebhook(ctx, env.Store, env.Redis, cfg, store.WebhookReplay{DeliveryID: *delivery, EventID: *event},
		*operator, *reason)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		fmt.Printf("event %d to endpoint %d: queued\n", p[0], p[1])
	}
	return nil
}
