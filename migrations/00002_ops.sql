-- +goose Up
-- Per-batch budget of billed IVS calls (ops budget). max_billed = 0: no cap.
-- budget_used counts call slots taken: a slot is reserved before each call and
-- given back when the call turns out not billed, so it is the number of billed
-- and possibly billed calls plus the calls on the wire right now. Only calls
-- made by workers with the budget check (Processor.Budget) are counted.
ALTER TABLE batches
    ADD COLUMN max_billed  integer NOT NULL DEFAULT 0 CHECK (max_billed >= 0),
    ADD COLUMN budget_used integer NOT NULL DEFAULT 0 CHECK (budget_used >= 0);

-- What operators did (ops requeue/budget/export/report/reconcile, key
-- rotation …). Never personal data: record ids, codes, counts and paths only.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    operator text        NOT NULL,
    command  text        NOT NULL,
    args     jsonb       NOT NULL DEFAULT '{}',
    batch_id bigint      REFERENCES batches (id),
    reason   text        NOT NULL DEFAULT '',
    result   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_batch ON audit_log (batch_id, at) WHERE batch_id IS NOT NULL;

-- One row per ops reconcile run, with what it found and repaired.
CREATE TABLE reconcile_runs (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    needs_human boolean     NOT NULL,
    summary     jsonb       NOT NULL
);

CREATE INDEX attempts_started ON attempts (started_at);

-- +goose Down
DROP INDEX attempts_started;
DROP TABLE reconcile_runs;
DROP TABLE audit_log;
ALTER TABLE batches DROP COLUMN budget_used, DROP COLUMN max_billed;
