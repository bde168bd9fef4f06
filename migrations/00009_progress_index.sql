-- +goose Up
-- A batch's rate and ETA read its most recent attempts (store.batchProgress):
-- this index serves them newest first, a bounded number whatever the rate.
CREATE INDEX attempts_batch_started ON attempts (batch_id, started_at);

-- +goose Down
DROP INDEX attempts_batch_started;
