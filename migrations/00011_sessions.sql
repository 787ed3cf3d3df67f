-- +goose Up
-- Login sessions. Not events: a session is operational state, not domain
-- history, so the login handler writes this table directly and logout,
-- block and password changes end sessions at once (not when a projector
-- catches up). Only the SHA-256 of a token is stored.
CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
