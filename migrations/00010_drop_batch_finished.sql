-- +goose Up
-- No query reads records_batch_finished since the rate moved to the batch's
-- latest attempts (attempts_batch_started): it only cost every outcome write.
DROP INDEX records_batch_finished;

-- +goose Down
CREATE INDEX records_batch_finished ON records (batch_id, finished_at) WHERE finished_at IS NOT NULL;
