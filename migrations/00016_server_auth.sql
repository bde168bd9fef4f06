-- +goose Up
-- Who may use the server (cmd/server): API tokens for systems and accounts
-- for people, each with one role (viewer < operator < admin), and the
-- sessions of signed-in people. Secrets are never stored: a token and a
-- session id are 256 random bits, kept as their SHA-256 (enough for values
-- nobody can guess, and looked up by index); a password as an argon2id hash.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL CHECK (name <> ''),
    role         text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    hash         bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE operator_accounts (
    id            bigserial PRIMARY KEY,
    username      text        NOT NULL UNIQUE CHECK (username <> ''),
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

CREATE TABLE server_sessions (
    hash       bytea PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES operator_accounts (id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX server_sessions_expires ON server_sessions (expires_at);
CREATE INDEX server_sessions_account ON server_sessions (account_id);
-- The server logs in as a member of the operator role: it checks tokens and
-- sessions, and its admin commands (server token-*, user-*) manage them.
SELECT ivsbatch_grant('operator', 'api_tokens', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('operator', 'operator_accounts', 'SELECT, INSERT, UPDATE');
SELECT ivsbatch_grant('operator', 'server_sessions', 'SELECT, INSERT, DELETE');

-- +goose Down
DELETE FROM role_grants WHERE table_name IN ('api_tokens', 'operator_accounts', 'server_sessions');
DROP TABLE server_sessions;
DROP TABLE operator_accounts;
DROP TABLE api_tokens;
