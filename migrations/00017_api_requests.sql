-- +goose Up
-- The API's idempotency keys: a submit with an Idempotency-Key is answered
-- once, and the same key from the same caller within 24 h gets the same
-- answer (status NULL while the first request still runs).
CREATE TABLE idempotency_keys (
    principal   text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    status      integer,
    response    jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A requeue previewed through the API (count and cost), confirmed at most
-- once by the caller who previewed it, before it expires.
CREATE TABLE requeue_previews (
    id           text        PRIMARY KEY,
    principal    text        NOT NULL,
    request      jsonb       NOT NULL,
    selected     integer     NOT NULL,
    requeue      integer     NOT NULL,
    forced       integer     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    confirmed_at timestamptz
);
CREATE INDEX requeue_previews_expires ON requeue_previews (expires_at);
-- Both are the server's (a member of the operator role); it drops expired rows.
SELECT ivsbatch_grant('operator', 'idempotency_keys', 'SELECT, INSERT, UPDATE, DELETE');
SELECT ivsbatch_grant('operator', 'requeue_previews', 'SELECT, INSERT, UPDATE, DELETE');

-- +goose Down
DELETE FROM role_grants WHERE table_name IN ('idempotency_keys', 'requeue_previews');
DROP TABLE requeue_previews;
DROP TABLE idempotency_keys;
