-- +goose Up
-- Least-privilege roles and an audit log nobody can edit.
--
-- Roles are made by `ops roles -apply` (run by the database's owner): four
-- group roles, each marked in this database by the setting ivsbatch.role
-- (migrator, worker, operator, reader). role_grants lists what the three
-- application roles may do per table; ivsbatch_apply_grants() grants it to
-- whichever roles carry the mark, so the grants follow the schema whether
-- the roles were made before or after a migration. A migration adding a
-- table grants it with one line per role:
--     SELECT ivsbatch_grant('worker', 'new_table', 'SELECT, UPDATE');
CREATE TABLE role_grants (
    role_kind  text NOT NULL CHECK (role_kind IN ('worker', 'operator', 'reader')),
    table_name text NOT NULL,
    privileges text NOT NULL
        CHECK (privileges ~ '^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$'),
    PRIMARY KEY (role_kind, table_name)
);

-- ivsbatch_roles returns the roles marked kind in this database.
-- +goose StatementBegin
CREATE FUNCTION ivsbatch_roles(kind text) RETURNS SETOF name LANGUAGE sql STABLE AS $$
    SELECT r.rolname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
    WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ('ivsbatch.role=' || kind) = ANY (s.setconfig)
$$;
-- +goose StatementEnd

-- ivsbatch_apply_grants grants role_grants to the marked roles: a table's
-- privileges are replaced by the listed ones; INSERT brings the use of the
-- table's own sequences.
-- +goose StatementBegin
CREATE FUNCTION ivsbatch_apply_grants() RETURNS void LANGUAGE plpgsql AS $$
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

-- ivsbatch_grant records that kind may do privs on tbl, and grants it.
-- +goose StatementBegin
CREATE FUNCTION ivsbatch_grant(kind text, tbl text, privs text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO role_grants (role_kind, table_name, privileges) VALUES (kind, tbl, privs)
    ON CONFLICT (role_kind, table_name) DO UPDATE SET privileges = EXCLUDED.privileges;
    PERFORM ivsbatch_apply_grants();
END
$$;
-- +goose StatementEnd

-- What each command needs, no more. The reader (status, report, export,
-- plan) reads and appends its audit row; the worker (worker run, its
-- feeder, recovery and scheduled reconcile) claims, finishes and recovers
-- records; the operator (enqueue, ops, worker pause/resume) submits,
-- requeues, budgets, reconciles and rotates keys. Nobody updates or
-- deletes audit_log (see the trigger below).
INSERT INTO role_grants (role_kind, table_name, privileges) VALUES
    ('reader',   'goose_db_version', 'SELECT'),
    ('reader',   'batches',          'SELECT'),
    ('reader',   'records',          'SELECT'),
    ('reader',   'attempts',         'SELECT'),
    ('reader',   'record_counts',    'SELECT'),
    ('reader',   'account_state',    'SELECT'),
    ('reader',   'reconcile_runs',   'SELECT'),
    ('reader',   'audit_log',        'INSERT'),
    ('worker',   'goose_db_version', 'SELECT'),
    ('worker',   'batches',          'SELECT, UPDATE'),
    ('worker',   'records',          'SELECT, UPDATE'),
    ('worker',   'attempts',         'SELECT, INSERT, UPDATE, DELETE'),
    ('worker',   'record_counts',    'SELECT, INSERT, DELETE'),
    ('worker',   'account_state',    'SELECT, UPDATE'),
    ('worker',   'reconcile_runs',   'SELECT, INSERT'),
    ('worker',   'reconcile_slots',  'SELECT, INSERT, UPDATE'),
    ('worker',   'audit_log',        'INSERT'),
    ('operator', 'goose_db_version', 'SELECT'),
    ('operator', 'batches',          'SELECT, INSERT, UPDATE'),
    ('operator', 'records',          'SELECT, INSERT, UPDATE'),
    ('operator', 'attempts',         'SELECT, INSERT, UPDATE, DELETE'),
    ('operator', 'record_counts',    'SELECT, INSERT, DELETE'),
    ('operator', 'account_state',    'SELECT, UPDATE'),
    ('operator', 'reconcile_runs',   'SELECT, INSERT'),
    ('operator', 'reconcile_slots',  'SELECT'),
    ('operator', 'audit_log',        'SELECT, INSERT');
SELECT ivsbatch_apply_grants();

-- The audit log: who the database says ran the command (session_user, from
-- authentication) beside the operator the command declared; rows are only
-- ever appended, whoever asks (the owner included, short of dropping the
-- trigger). An audit row outlives its batch: no foreign key.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_batch_id_fkey;
ALTER TABLE audit_log ADD COLUMN db_user text NOT NULL DEFAULT session_user;

-- +goose StatementBegin
CREATE FUNCTION audit_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.db_user := session_user;
    NEW.at := now();
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_stamp();

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TRIGGER audit_log_stamp ON audit_log;
DROP FUNCTION audit_log_stamp();
ALTER TABLE audit_log DROP COLUMN db_user;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES batches (id) NOT VALID;
DROP FUNCTION ivsbatch_grant(text, text, text);
DROP FUNCTION ivsbatch_apply_grants();
DROP FUNCTION ivsbatch_roles(text);
DROP TABLE role_grants;
