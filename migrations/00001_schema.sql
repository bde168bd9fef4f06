-- +goose Up
CREATE TABLE batches (
    id              bigserial PRIMARY KEY,
    name            text        NOT NULL DEFAULT '',
    source          text        NOT NULL DEFAULT '',
    manifest_sha256 text        NOT NULL UNIQUE,
    rows_total      integer     NOT NULL DEFAULT 0,
    rows_rejected   integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE records (
    id                   bigserial PRIMARY KEY,
    batch_id             bigint      NOT NULL REFERENCES batches (id),
    ref                  text        NOT NULL,
    line                 integer     NOT NULL,
    shape                text        NOT NULL,
    -- inputs: personal data sealed with AES-256-GCM ("kid:base64", record id as
    -- associated data, see package pii), object-storage references in clear
    name_enc             text        NOT NULL DEFAULT '',
    id_number_enc        text        NOT NULL DEFAULT '',
    id_hmac              bytea,      -- blind index of the normalised id number (lookups, dedup)
    input_hmac           bytea,      -- blind index of shape, id, name and media refs (same-input dedup)
    idcard_image1        text        NOT NULL DEFAULT '',
    idcard_image2        text        NOT NULL DEFAULT '',
    face_image           text        NOT NULL DEFAULT '',
    video                text        NOT NULL DEFAULT '',
    actions              text        NOT NULL DEFAULT '',
    nod_threshold        double precision,
    detail               boolean,
    crop                 boolean,
    -- state
    status               text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'queued', 'in_flight', 'done', 'rejected', 'failed', 'review')),
    generation           integer     NOT NULL DEFAULT 1,
    reverify             boolean     NOT NULL DEFAULT false, -- operator forced a paid re-verification (no dedup)
    linked_record_id     bigint      REFERENCES records (id), -- outcome reused from this record (dedup)
    attempts             integer     NOT NULL DEFAULT 0,
    -- outcome
    verdict              text,
    verification_code    integer,
    verification_message text,
    similarity           double precision,
    idcard_result        jsonb,      -- OCR; name, number and address sealed like the inputs
    video_alive          boolean,
    video_actions        jsonb,
    last_error_code      text,
    last_error_message   text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    UNIQUE (batch_id, ref)
);
CREATE INDEX records_batch_status ON records (batch_id, status);
CREATE INDEX records_error_code ON records (last_error_code) WHERE last_error_code IS NOT NULL;
CREATE INDEX records_pending ON records (id) WHERE status = 'pending';
CREATE INDEX records_open ON records (updated_at) WHERE status IN ('queued', 'in_flight');
CREATE INDEX records_id_hmac ON records (id_hmac, shape) WHERE id_hmac IS NOT NULL;
CREATE INDEX records_input_hmac ON records (batch_id, input_hmac) WHERE input_hmac IS NOT NULL;

CREATE TABLE attempts (
    id              bigserial PRIMARY KEY,
    record_id       bigint      NOT NULL REFERENCES records (id),
    generation      integer     NOT NULL,
    uuid            text        NOT NULL,
    endpoint        text        NOT NULL,
    media_note      text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'in_flight' CHECK (state IN ('in_flight', 'finished', 'abandoned')),
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    duration_ms     integer,
    http_status     integer,
    code            text,
    message         text,
    request_id      text,
    class           text,
    billed          boolean     NOT NULL DEFAULT false,
    possibly_billed boolean     NOT NULL DEFAULT false
);
CREATE INDEX attempts_record ON attempts (record_id);
CREATE INDEX attempts_open ON attempts (started_at) WHERE state = 'in_flight';
CREATE INDEX attempts_code ON attempts (code, started_at);

-- The account-wide pause (IVS.0014, IVS.0015, rejected credentials): one row.
CREATE TABLE account_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    paused     boolean     NOT NULL DEFAULT false,
    code       text        NOT NULL DEFAULT '',
    reason     text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO account_state DEFAULT VALUES;

-- +goose Down
DROP TABLE account_state;
DROP TABLE attempts;
DROP TABLE records;
DROP TABLE batches;
