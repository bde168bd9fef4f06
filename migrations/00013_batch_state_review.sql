-- +goose Up
-- Batches an operator can find, pause and cancel (ops batches, pause, resume,
-- cancel), and review decisions (ops review -decide).
--
-- A batch's state: open, finished (no open records; store.SettleBatches
-- notices it, from the count deltas, and sets finished_at), paused or
-- cancelled (an operator's).
-- Nothing here is written per record: 00010 dropped records_batch_finished
-- because an index on records cost every outcome write, and finished_at is
-- one row per batch.
ALTER TABLE batches
    ADD COLUMN state       text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'finished', 'paused', 'cancelled')),
    ADD COLUMN finished_at timestamptz;

-- Batches already without open records are finished, at their last outcome.
UPDATE batches b SET state = 'finished',
       finished_at = coalesce((SELECT max(r.finished_at) FROM records r WHERE r.batch_id = b.id), b.created_at)
WHERE NOT EXISTS (SELECT 1 FROM record_counts c WHERE c.batch_id = b.id
                  AND c.status IN ('pending', 'queued', 'in_flight', 'held') GROUP BY c.status HAVING sum(c.n) > 0);

-- A reviewer's decision is a final status of its own, beside IVS's verdict
-- (which the record keeps). A paused batch's records wait as held (open,
-- out of the pending indexes: the feeder's claim never walks past them; a
-- filter on the batch in the claim walked 50,000 index entries per shape,
-- 144 ms a round, behind a paused batch of 300,000 records). NOT VALID,
-- then VALIDATE: the check of the existing rows does not block writers.
ALTER TABLE records DROP CONSTRAINT records_status_check;
ALTER TABLE records ADD CONSTRAINT records_status_check
    CHECK (status IN ('pending', 'queued', 'in_flight', 'held', 'done', 'rejected', 'failed', 'review',
                      'review_approved', 'review_rejected')) NOT VALID;
ALTER TABLE records VALIDATE CONSTRAINT records_status_check;
-- The review queue (ops review) across batches: review records are few.
CREATE INDEX records_review ON records (id) WHERE status = 'review';

-- Who decided what about a record in review, when and why. db_user is the
-- database's session_user (from authentication), operator the declared one.
-- Never personal data: a corrected name goes into the record, sealed.
CREATE TABLE review_decisions (
    id             bigserial PRIMARY KEY,
    record_id      bigint      NOT NULL REFERENCES records (id),
    batch_id       bigint      NOT NULL REFERENCES batches (id),
    generation     integer     NOT NULL, -- the record's generation decided on
    decision       text        NOT NULL CHECK (decision IN ('approve', 'reject', 'reverify')),
    reason         text        NOT NULL CHECK (reason <> ''),
    name_corrected boolean     NOT NULL DEFAULT false,
    why_code       text        NOT NULL DEFAULT '', -- what put it in review: verification code or error code
    operator       text        NOT NULL,
    db_user        text        NOT NULL DEFAULT session_user,
    decided_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_decisions_record ON review_decisions (record_id, id);
CREATE INDEX review_decisions_batch ON review_decisions (batch_id, id);
-- Operators decide (ops review -decide); readers see decisions (find, status,
-- report, export). Workers settle batches with their UPDATE on batches.
SELECT ivsbatch_grant('operator', 'review_decisions', 'SELECT, INSERT');
SELECT ivsbatch_grant('reader', 'review_decisions', 'SELECT');

-- +goose Down
DELETE FROM role_grants WHERE table_name = 'review_decisions';
DROP TABLE review_decisions;
DROP INDEX records_review;
UPDATE records SET status = 'review' WHERE status IN ('review_approved', 'review_rejected');
UPDATE records SET status = 'pending' WHERE status = 'held';
ALTER TABLE records DROP CONSTRAINT records_status_check;
ALTER TABLE records ADD CONSTRAINT records_status_check
    CHECK (status IN ('pending', 'queued', 'in_flight', 'done', 'rejected', 'failed', 'review'));
ALTER TABLE batches DROP COLUMN finished_at, DROP COLUMN state;
