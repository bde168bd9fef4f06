-- +goose Up
-- Dedup on identical inputs only: input_digest is a keyed HMAC (the pii index
-- key) of the shape, normalised name and id number, the fetched media bytes,
-- the actions, nod threshold, detail and crop. It is written by the worker
-- after the fetch, when the record is the one that calls IVS for these
-- inputs; a verdict is reused only for a record with the same digest.
ALTER TABLE records
    ADD COLUMN input_digest   bytea,
    -- infrastructure trouble (fetch, prepare, store, limiter): consecutive
    -- failures and since when, bounded by the worker's infra limits
    ADD COLUMN infra_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN infra_since    timestamptz;
CREATE INDEX records_input_digest ON records (input_digest) WHERE input_digest IS NOT NULL;
CREATE INDEX records_linked ON records (batch_id) WHERE linked_record_id IS NOT NULL;

-- A budget slot is an attempt row: 'reserved' (taken before the limiter wait,
-- in the same transaction as budget_used + 1, not sent yet), 'in_flight'
-- (being sent), then finished or abandoned. budget_used is the number of the
-- batch's attempts that are reserved, in flight, billed or possibly billed.
ALTER TABLE attempts DROP CONSTRAINT attempts_state_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_state_check
    CHECK (state IN ('reserved', 'in_flight', 'finished', 'abandoned'));
ALTER TABLE attempts ADD COLUMN batch_id bigint REFERENCES batches (id);
UPDATE attempts a SET batch_id = r.batch_id FROM records r WHERE r.id = a.record_id;
CREATE INDEX attempts_batch_slot ON attempts (batch_id)
    WHERE state IN ('reserved', 'in_flight') OR billed OR possibly_billed;
UPDATE batches b SET budget_used = (SELECT count(*) FROM attempts a
    WHERE a.batch_id = b.id AND (a.state IN ('reserved', 'in_flight') OR a.billed OR a.possibly_billed));

-- Workers keep the account pause in memory (store.AccountWatch): every
-- change is announced on a channel they LISTEN to.
-- +goose StatementBegin
CREATE FUNCTION account_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ivsbatch_account_state', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER account_state_notify AFTER INSERT OR UPDATE ON account_state
    FOR EACH ROW EXECUTE FUNCTION account_state_notify();

-- +goose Down
DROP TRIGGER account_state_notify ON account_state;
DROP FUNCTION account_state_notify();
UPDATE attempts SET state = 'abandoned' WHERE state = 'reserved';
DROP INDEX attempts_batch_slot;
ALTER TABLE attempts DROP COLUMN batch_id;
ALTER TABLE attempts DROP CONSTRAINT attempts_state_check;
ALTER TABLE attempts ADD CONSTRAINT attempts_state_check CHECK (state IN ('in_flight', 'finished', 'abandoned'));
DROP INDEX records_linked;
DROP INDEX records_input_digest;
ALTER TABLE records DROP COLUMN infra_since, DROP COLUMN infra_failures, DROP COLUMN input_digest;
