-- +goose Up
-- One row per slot of the reconcile schedule (IVSBATCH_RECONCILE_CRON): the
-- worker whose insert wins runs that slot, so the fleet runs each slot once.
CREATE TABLE reconcile_slots (
    slot       timestamptz PRIMARY KEY,
    worker     text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    run_id     bigint      REFERENCES reconcile_runs (id)
);

-- +goose Down
DROP TABLE reconcile_slots;
