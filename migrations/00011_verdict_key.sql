-- +goose Up
-- The status counts keep a verdict's code and word apart: record_counts gets
-- verification_code, and verdict holds the word only (valid, invalid,
-- nonexistent) or ''. store.VerdictKey joins them in Go; no query builds
-- "<code> <verdict>" any more, and no caller parses it back.
-- The triggers' lock (SHARE ROW EXCLUSIVE on records) and the table's
-- ACCESS EXCLUSIVE lock hold writers off until this migration commits.
LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE record_counts ADD COLUMN verification_code integer;
UPDATE record_counts SET verification_code = split_part(verdict, ' ', 1)::integer, verdict = split_part(verdict, ' ', 2)
WHERE verdict <> '';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION record_counts_compact(batch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- One compaction per batch at a time (others skip); the deltas it deletes
    -- are replaced by their sum in the same statement, so the total never moves.
    IF NOT pg_try_advisory_xact_lock(hashtext('record_counts'), hashint8(batch)) THEN
        RETURN;
    END IF;
    WITH gone AS (
        DELETE FROM record_counts WHERE batch_id = batch RETURNING status, verification_code, verdict, code, n
    )
    INSERT INTO record_counts (batch_id, status, verification_code, verdict, code, n)
    SELECT batch, status, verification_code, verdict, code, sum(n) FROM gone GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0;
END $$;
-- +goose StatementEnd

-- A record has a verdict when it has both a verification code and a verdict
-- (as before: a code without a verdict counts by last_error_code).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION record_counts_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO record_counts (batch_id, status, verification_code, verdict, code, n)
        SELECT batch_id, status, CASE WHEN verdict IS NOT NULL THEN verification_code END,
               CASE WHEN verification_code IS NOT NULL THEN coalesce(verdict, '') ELSE '' END,
               coalesce(last_error_code, ''), count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4, 5;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO record_counts (batch_id, status, verification_code, verdict, code, n)
        SELECT batch_id, status, CASE WHEN verdict IS NOT NULL THEN verification_code END,
               CASE WHEN verification_code IS NOT NULL THEN coalesce(verdict, '') ELSE '' END,
               coalesce(last_error_code, ''), -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4, 5;
    ELSE
        INSERT INTO record_counts (batch_id, status, verification_code, verdict, code, n)
        SELECT batch_id, status, vcode, verdict, code, sum(n) FROM (
            SELECT batch_id, status, CASE WHEN verdict IS NOT NULL THEN verification_code END AS vcode,
                   CASE WHEN verification_code IS NOT NULL THEN coalesce(verdict, '') ELSE '' END AS verdict,
                   coalesce(last_error_code, '') AS code, -1 AS n FROM old_rows
            UNION ALL
            SELECT batch_id, status, CASE WHEN verdict IS NOT NULL THEN verification_code END,
                   CASE WHEN verification_code IS NOT NULL THEN coalesce(verdict, '') ELSE '' END,
                   coalesce(last_error_code, ''), 1 FROM new_rows
        ) d GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0;
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

-- +goose Down
LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE;
UPDATE record_counts SET verdict = verification_code::text || ' ' || verdict WHERE verdict <> '';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION record_counts_compact(batch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
CREATE OR REPLACE FUNCTION record_counts_delta() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Rows that differed only by the code of a record without a verdict merge
-- back on the next compaction.
ALTER TABLE record_counts DROP COLUMN verification_code;
