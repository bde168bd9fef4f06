-- +goose Up
-- Webhooks on batch events (package webhook, ops webhooks).
--
-- webhook_endpoints: where events go. The signing secret is sealed like
-- personal data (package pii, "kid:base64", the endpoint id as associated
-- data) and never printed after `ops webhooks add`. Removed endpoints stay
-- (their deliveries name them) with removed_at set.
CREATE TABLE webhook_endpoints (
    id         bigserial PRIMARY KEY,
    url        text        NOT NULL CHECK (url ~ '^https?://'),
    events     text[]      NOT NULL CHECK (cardinality(events) > 0),
    secret_enc text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz
);

-- webhook_events: the outbox. A row is written by the database itself, in
-- the transaction of the batch's transition (the triggers below), so an
-- event exists exactly when its transition committed, whichever worker or
-- command made it; the unique key makes a transition one event even if two
-- writers raced. Dispatchers (every worker) move undispatched rows onto the
-- queue (one task per subscribed endpoint) and set dispatched_at.
-- data holds ids and counts only, never personal data.
CREATE TABLE webhook_events (
    id            bigserial PRIMARY KEY,
    type          text        NOT NULL
        CHECK (type IN ('batch.finished', 'batch.paused', 'batch.budget_exhausted', 'batch.needs_review')),
    batch_id      bigint      NOT NULL,
    transition    text        NOT NULL, -- what makes the transition unique: its time, or the budget's cap
    data          jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    UNIQUE (batch_id, type, transition)
);
CREATE INDEX webhook_events_undispatched ON webhook_events (id) WHERE dispatched_at IS NULL;

-- webhook_deliveries: every attempt to deliver an event to an endpoint.
-- error is sanitised (internal/sink) before it is stored.
CREATE TABLE webhook_deliveries (
    id          bigserial PRIMARY KEY,
    event_id    bigint      NOT NULL REFERENCES webhook_events (id),
    endpoint_id bigint      NOT NULL REFERENCES webhook_endpoints (id),
    attempt     integer     NOT NULL CHECK (attempt > 0),
    status_code integer,
    error       text        NOT NULL DEFAULT '',
    duration_ms integer     NOT NULL DEFAULT 0,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- webhook_batch_counts is a batch's records by status, as jsonb.
-- +goose StatementBegin
CREATE FUNCTION webhook_batch_counts(batch bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(status, n), '{}')
    FROM (SELECT status, sum(n) AS n FROM record_counts WHERE batch_id = batch GROUP BY status HAVING sum(n) <> 0) s
$$;
-- +goose StatementEnd

-- A batch settled finished: batch.finished, and batch.needs_review when
-- records wait in review. A batch paused by an operator: batch.paused.
-- +goose StatementBegin
CREATE FUNCTION webhook_batch_state() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counts jsonb;
    at     text := coalesce(NEW.finished_at, now())::text;
BEGIN
    IF NEW.state = 'paused' THEN
        INSERT INTO webhook_events (type, batch_id, transition, data)
        VALUES ('batch.paused', NEW.id, now()::text, jsonb_build_object('cause', 'operator'))
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END IF;
    counts := webhook_batch_counts(NEW.id);
    INSERT INTO webhook_events (type, batch_id, transition, data)
    VALUES ('batch.finished', NEW.id, at, jsonb_build_object('counts', counts))
    ON CONFLICT DO NOTHING;
    IF coalesce((counts ->> 'review')::bigint, 0) > 0 THEN
        INSERT INTO webhook_events (type, batch_id, transition, data)
        VALUES ('batch.needs_review', NEW.id, at, jsonb_build_object('counts', counts,
                'review', (counts ->> 'review')::bigint))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER webhook_batch_state AFTER UPDATE OF state ON batches FOR EACH ROW
    WHEN (NEW.state IN ('finished', 'paused') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION webhook_batch_state();

-- The account paused (quota, arrears, refused credentials, or `worker
-- pause`): batch.paused for every open batch, once per pause.
-- +goose StatementBegin
CREATE FUNCTION webhook_account_paused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (type, batch_id, transition, data)
    SELECT 'batch.paused', b.id, NEW.updated_at::text, jsonb_build_object('cause', 'account', 'code', NEW.code)
    FROM batches b WHERE b.state = 'open'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER webhook_account_paused AFTER UPDATE ON account_state FOR EACH ROW
    WHEN (NEW.paused AND NOT OLD.paused)
    EXECUTE FUNCTION webhook_account_paused();

-- A record refused because its batch's budget is used up: one
-- batch.budget_exhausted per batch and cap (raising the cap with ops
-- budget and using it up again is a new event). The WHEN clause is all the
-- other outcome writes pay.
-- +goose StatementBegin
CREATE FUNCTION webhook_budget_exhausted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (type, batch_id, transition, data)
    SELECT 'batch.budget_exhausted', b.id, b.max_billed::text,
           jsonb_build_object('max_billed', b.max_billed, 'budget_used', b.budget_used)
    FROM batches b WHERE b.id = NEW.batch_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER webhook_budget_exhausted AFTER UPDATE OF last_error_code ON records FOR EACH ROW
    WHEN (NEW.last_error_code = 'budget.exhausted' AND OLD.last_error_code IS DISTINCT FROM NEW.last_error_code)
    EXECUTE FUNCTION webhook_budget_exhausted();

-- The worker (and the operator's commands, whose changes fire the
-- triggers) write events; workers dispatch them and log deliveries;
-- operators add and remove endpoints and replay; readers read.
SELECT ivsbatch_grant('worker', 'webhook_events', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('operator', 'webhook_events', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('reader', 'webhook_events', 'SELECT');
SELECT ivsbatch_grant('worker', 'webhook_endpoints', 'SELECT');
SELECT ivsbatch_grant('operator', 'webhook_endpoints', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('reader', 'webhook_endpoints', 'SELECT');
SELECT ivsbatch_grant('worker', 'webhook_deliveries', 'SELECT, INSERT');
SELECT ivsbatch_grant('operator', 'webhook_deliveries', 'SELECT');
SELECT ivsbatch_grant('reader', 'webhook_deliveries', 'SELECT');

-- +goose Down
DELETE FROM role_grants WHERE table_name IN ('webhook_events', 'webhook_endpoints', 'webhook_deliveries');
DROP TRIGGER webhook_budget_exhausted ON records;
DROP FUNCTION webhook_budget_exhausted();
DROP TRIGGER webhook_account_paused ON account_state;
DROP FUNCTION webhook_account_paused();
DROP TRIGGER webhook_batch_state ON batches;
DROP FUNCTION webhook_batch_state();
DROP FUNCTION webhook_batch_counts(bigint);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
