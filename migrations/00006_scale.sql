-- +goose Up
-- Million-row batches: every periodic query reads O(1) rows or an index.

-- Per-batch record counts, kept exact by statement-level triggers on records
-- (they fire for INSERT, UPDATE, DELETE and COPY, inside the transaction that
-- changes the records, so a count is never ahead of or behind the rows).
-- Each statement appends aggregated delta rows (batch, status, verdict, code,
-- ±n): writers never update a shared row, so concurrent workers do not wait on
-- each other. Readers sum the deltas; record_counts_compact folds a batch's
-- deltas into one row per key, in a short transaction.
--   verdict: "<verification_code> <verdict>" or '' (no verdict)
--   code:    last_error_code or ''
CREATE TABLE record_counts (
    batch_id bigint NOT NULL,
    status   text   NOT NULL,
    verdict  text   NOT NULL,
    code     text   NOT NULL,
    n        bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000);
CREATE INDEX record_counts_batch ON record_counts (batch_id);

-- +goose StatementBegin
CREATE FUNCTION record_counts_compact(batch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- One compaction per batch at a time (others skip); the deltas it deletes
    -- are replaced by their sum in the same statement, so the total never moves.
    IF NOT pg_try_advisory_xact_lock(hashtext('record_counts'), hashint8(batch)) THEN
        RETURN;
    END IF;
    WITH gone AS (
        DELETE FROM record_counts WHERE batch_id = batch RETURNING status, verdict, code, n
    )
    INSERT INTO record_counts (batch_id, status, verdict, code, n)
    SELECT batch, status, verdict, code, sum(n) FROM gone GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION record_counts_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO record_counts (batch_id, status, verdict, code, n)
        SELECT batch_id, status, coalesce(verification_code::text || ' ' || verdict, ''), coalesce(last_error_code, ''),
               count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO record_counts (batch_id, status, verdict, code, n)
        SELECT batch_id, status, coalesce(verification_code::text || ' ' || verdict, ''), coalesce(last_error_code, ''),
               -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4;
    ELSE
        INSERT INTO record_counts (batch_id, status, verdict, code, n)
        SELECT batch_id, status, verdict, code, sum(n) FROM (
            SELECT batch_id, status, coalesce(verification_code::text || ' ' || verdict, '') AS verdict,
                   coalesce(last_error_code, '') AS code, -1 AS n FROM old_rows
            UNION ALL
            SELECT batch_id, status, coalesce(verification_code::text || ' ' || verdict, ''),
                   coalesce(last_error_code, ''), 1 FROM new_rows
        ) d GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    END IF;
    -- Now and then (about one statement in 256) fold the deltas of the
    -- batches this statement touched, so readers sum a few hundred rows at
    -- most whatever the batch size.
    IF random() < 1.0 / 256 THEN
        IF TG_OP = 'DELETE' THEN
            FOR b IN SELECT DISTINCT batch_id FROM old_rows LOOP
                PERFORM record_counts_compact(b);
            END LOOP;
        ELSE
            FOR b IN SELECT DISTINCT batch_id FROM new_rows LOOP
                PERFORM record_counts_compact(b);
            END LOOP;
        END IF;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Transition tables allow one event per trigger, hence three.
CREATE TRIGGER records_count_insert AFTER INSERT ON records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_counts_delta();
CREATE TRIGGER records_count_update AFTER UPDATE ON records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_counts_delta();
CREATE TRIGGER records_count_delete AFTER DELETE ON records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_counts_delta();

-- The triggers' lock (SHARE ROW EXCLUSIVE) holds writers off until this
-- migration commits, so the starting counts below are exact.
INSERT INTO record_counts (batch_id, status, verdict, code, n)
SELECT batch_id, status, coalesce(verification_code::text || ' ' || verdict, ''), coalesce(last_error_code, ''), count(*)
FROM records GROUP BY 1, 2, 3, 4;

-- The feeder claims pending records per shape, oldest first (store.ClaimPending,
-- one subquery per shape with the shape as a literal). One partial index per
-- shape, on id alone: it is then always cheaper than the primary key with a
-- filter, whatever the statistics say (with one (shape, id) index the planner
-- chose the primary key and scanned every row for a shape with none pending).
-- A new shape needs its index here.
CREATE INDEX records_pending_name ON records (id) WHERE status = 'pending' AND shape = 'name';
CREATE INDEX records_pending_card ON records (id) WHERE status = 'pending' AND shape = 'card';
CREATE INDEX records_pending_name_face_image ON records (id) WHERE status = 'pending' AND shape = 'name_face_image';
CREATE INDEX records_pending_card_face_image ON records (id) WHERE status = 'pending' AND shape = 'card_face_image';
CREATE INDEX records_pending_name_video ON records (id) WHERE status = 'pending' AND shape = 'name_video';
CREATE INDEX records_pending_card_video ON records (id) WHERE status = 'pending' AND shape = 'card_video';
DROP INDEX records_pending;
-- Lost-task recovery walks open records by id (and reconcile by status).
CREATE INDEX records_open_id ON records (id) WHERE status IN ('queued', 'in_flight');
-- Records finished in the last minute (status rate and ETA).
CREATE INDEX records_batch_finished ON records (batch_id, finished_at) WHERE finished_at IS NOT NULL;

-- +goose Down
DROP INDEX records_batch_finished;
DROP INDEX records_open_id;
CREATE INDEX records_pending ON records (id) WHERE status = 'pending';
DROP INDEX records_pending_card_video;
DROP INDEX records_pending_name_video;
DROP INDEX records_pending_card_face_image;
DROP INDEX records_pending_name_face_image;
DROP INDEX records_pending_card;
DROP INDEX records_pending_name;
DROP TRIGGER records_count_delete ON records;
DROP TRIGGER records_count_update ON records;
DROP TRIGGER records_count_insert ON records;
DROP FUNCTION record_counts_delta();
DROP FUNCTION record_counts_compact(bigint);
DROP TABLE record_counts;
