-- +goose Up
-- The personal-data key new values must be sealed with (pii key id), one
-- row. The first command that seals declares it; enqueue rekey moves it to
-- the operator's new key; a worker or submit sealing under another key id
-- refuses to start, so nothing is sealed under a key being retired.
CREATE TABLE pii_state (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    active_key_id text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The worker and the operator's submit declare and check it; the
-- operator's rekey moves it; the reader only reads it.
SELECT ivsbatch_grant('worker', 'pii_state', 'SELECT, INSERT');
SELECT ivsbatch_grant('operator', 'pii_state', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('reader', 'pii_state', 'SELECT');

-- +goose Down
DELETE FROM role_grants WHERE table_name = 'pii_state';
DROP TABLE pii_state;
