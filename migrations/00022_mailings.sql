-- +goose Up
-- The mailings read model (projector "mailings"); deleted rows are
-- tombstones. next_run_at and last_run_at stay null until the saga's events
-- fill them.
CREATE TABLE mailings (
    id          uuid        PRIMARY KEY,
    owner_id    uuid        NOT NULL,
    message_id  uuid        NOT NULL,
    client_ids  uuid[]      NOT NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    periodicity text        NOT NULL,
    timezone    text        NOT NULL,
    status      text        NOT NULL,
    is_active   boolean     NOT NULL,
    next_run_at timestamptz,
    last_run_at timestamptz,
    deleted     boolean     NOT NULL DEFAULT false,
    version     bigint      NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX mailings_owner_id ON mailings (owner_id, id) WHERE NOT deleted;
-- "Which live mailings use this message / list this client" (delete rules).
CREATE INDEX mailings_message_live ON mailings (message_id) WHERE NOT deleted AND status <> 'completed';
CREATE INDEX mailings_client_ids ON mailings USING gin (client_ids) WHERE NOT deleted AND status <> 'completed';

-- +goose Down
DROP TABLE mailings;
