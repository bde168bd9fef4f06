-- +goose Up
-- Million-row submit: every index on records is written once per row of a
-- submit, and these two take random keys (keyed hashes), so at a million
-- rows their inserts miss the buffer cache and cost more than the rest of
-- the INSERT. No query reads them since dedup moved to input_digest
-- (records_input_digest); the columns stay (ops plan counts distinct
-- input_hmac, from the batch's rows).
DROP INDEX records_id_hmac;
DROP INDEX records_input_hmac;

-- +goose Down
CREATE INDEX records_input_hmac ON records (batch_id, input_hmac) WHERE input_hmac IS NOT NULL;
CREATE INDEX records_id_hmac ON records (id_hmac, shape) WHERE id_hmac IS NOT NULL;
