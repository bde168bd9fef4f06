-- +goose Up
-- Personal data has a lifetime (package retention): a purge removes each kind
-- of data once the record's final outcome is older than its retention, and
-- ops erase removes one person's data on request. What remains of such a
-- record is its verdict (ref, shape, status, code, similarity, times).
ALTER TABLE records
    ADD COLUMN purged_at timestamptz, -- the sealed inputs were removed (retention or erasure)
    ADD COLUMN erased_at timestamptz; -- ops erase removed this person's data

-- Finished records in the order a purge walks them (finished_at is set once
-- a record is final and cleared when it is re-queued, so an open record is
-- never in it). Each kind's purge resumes after its mark, so a run reads only
-- records it has not handled yet; the oldest data past its retention (a
-- metric) is the first entry after the mark.
CREATE INDEX records_finished ON records (finished_at, id) WHERE finished_at IS NOT NULL;

-- How far each kind's purge got: every finished record up to (finished_at,
-- record_id) in the index order has had that kind removed.
CREATE TABLE purge_marks (
    kind        text PRIMARY KEY,
    finished_at timestamptz NOT NULL,
    record_id   bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Records whose inputs were purged or erased, per batch (status shows them).
ALTER TABLE batches
    ADD COLUMN records_purged integer NOT NULL DEFAULT 0,
    ADD COLUMN records_erased integer NOT NULL DEFAULT 0;

-- One row per purge run, scheduled or by hand (not dry runs).
CREATE TABLE purge_runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    complete    boolean     NOT NULL,
    summary     jsonb       NOT NULL
);

-- One row per slot of the purge schedule (IVSBATCH_PURGE_CRON), like
-- reconcile_slots: the worker whose insert wins runs the slot.
CREATE TABLE purge_slots (
    slot       timestamptz PRIMARY KEY,
    worker     text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    run_id     bigint      REFERENCES purge_runs (id)
);

-- A verdict past its retention is deleted with its attempts; a record that
-- reused it keeps its own copy of the verdict.
ALTER TABLE records DROP CONSTRAINT records_linked_record_id_fkey;
ALTER TABLE records ADD CONSTRAINT records_linked_record_id_fkey
    FOREIGN KEY (linked_record_id) REFERENCES records (id) ON DELETE SET NULL;
-- The foreign key's action finds the records linked to a deleted one here
-- (only records answered by reuse have an entry).
CREATE INDEX records_linked_to ON records (linked_record_id) WHERE linked_record_id IS NOT NULL;

-- What the roles may do (migration 00012's role_grants): the purge runs in
-- the workers (on the schedule) and as the operator (ops purge, ops erase).
-- Neither may DELETE records: past their retention whole records go through
-- ivsbatch_delete_verdicts, which deletes only final records finished before
-- the cut-off, not waiting for a reviewer and without a kept picture, with
-- their attempts and review decisions (00013; who decided stays in the
-- audit log). The reader's
-- ops privacy reads the latest purge run.
SELECT ivsbatch_grant(kind, 'purge_marks', 'SELECT, INSERT, UPDATE') FROM unnest(ARRAY['worker', 'operator']) kind;
SELECT ivsbatch_grant(kind, 'purge_runs', 'SELECT, INSERT') FROM unnest(ARRAY['worker', 'operator']) kind;
SELECT ivsbatch_grant(kind, 'purge_slots', 'SELECT, INSERT, UPDATE') FROM unnest(ARRAY['worker', 'operator']) kind;
SELECT ivsbatch_grant('reader', 'purge_runs', 'SELECT');

-- +goose StatementBegin
CREATE FUNCTION ivsbatch_delete_verdicts(ids bigint[], cutoff timestamptz)
RETURNS TABLE (id bigint, batch_id bigint) LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH del AS (SELECT r.id FROM records r WHERE r.id = ANY (ids) AND r.finished_at < cutoff
                 AND r.status <> 'review' AND r.picture_ref IS NULL),
    a AS (DELETE FROM attempts t WHERE t.record_id IN (SELECT del.id FROM del)),
    d AS (DELETE FROM review_decisions rd WHERE rd.record_id IN (SELECT del.id FROM del))
    DELETE FROM records r WHERE r.id IN (SELECT del.id FROM del) RETURNING r.id, r.batch_id;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION ivsbatch_delete_verdicts(bigint[], timestamptz) FROM PUBLIC;

-- ivsbatch_apply_grants (ops roles -apply, ops migrate) also lets the
-- worker and the operator roles run ivsbatch_delete_verdicts.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ivsbatch_apply_grants() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    g   record;
    r   name;
    seq regclass;
BEGIN
    FOR g IN SELECT role_kind, table_name, privileges FROM role_grants ORDER BY 1, 2 LOOP
        CONTINUE WHEN to_regclass(g.table_name) IS NULL;
        FOR r IN SELECT ivsbatch_roles(g.role_kind) LOOP
            EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', g.table_name, r);
            EXECUTE format('GRANT %s ON TABLE %I TO %I', g.privileges, g.table_name, r);
            CONTINUE WHEN position('INSERT' IN g.privileges) = 0;
            FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
                       WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass(g.table_name)
                         AND d.deptype IN ('a', 'i') LOOP
                EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', seq, r);
            END LOOP;
        END LOOP;
    END LOOP;
    IF to_regprocedure('ivsbatch_delete_verdicts(bigint[], timestamptz)') IS NOT NULL THEN
        FOR r IN SELECT ivsbatch_roles('worker') UNION SELECT ivsbatch_roles('operator') LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION ivsbatch_delete_verdicts(bigint[], timestamptz) TO %I', r);
        END LOOP;
    END IF;
END
$$;
-- +goose StatementEnd
SELECT ivsbatch_apply_grants();

-- +goose Down
DELETE FROM role_grants WHERE table_name IN ('purge_marks', 'purge_runs', 'purge_slots');
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ivsbatch_apply_grants() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    g   record;
    r   name;
    seq regclass;
BEGIN
    FOR g IN SELECT role_kind, table_name, privileges FROM role_grants ORDER BY 1, 2 LOOP
        CONTINUE WHEN to_regclass(g.table_name) IS NULL;
        FOR r IN SELECT ivsbatch_roles(g.role_kind) LOOP
            EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', g.table_name, r);
            EXECUTE format('GRANT %s ON TABLE %I TO %I', g.privileges, g.table_name, r);
            CONTINUE WHEN position('INSERT' IN g.privileges) = 0;
            FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
                       WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass(g.table_name)
                         AND d.deptype IN ('a', 'i') LOOP
                EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', seq, r);
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP FUNCTION ivsbatch_delete_verdicts(bigint[], timestamptz);
DROP INDEX records_linked_to;
ALTER TABLE records DROP CONSTRAINT records_linked_record_id_fkey;
ALTER TABLE records ADD CONSTRAINT records_linked_record_id_fkey
    FOREIGN KEY (linked_record_id) REFERENCES records (id);
DROP TABLE purge_slots;
DROP TABLE purge_runs;
ALTER TABLE batches DROP COLUMN records_erased, DROP COLUMN records_purged;
DROP TABLE purge_marks;
DROP INDEX records_finished;
ALTER TABLE records DROP COLUMN erased_at, DROP COLUMN purged_at;
