-- +goose Up
-- The messages read model (projector "messages"); deleted rows are tombstones.
CREATE TABLE messages (
    id         uuid        PRIMARY KEY,
    owner_id   uuid        NOT NULL,
    subject    text        NOT NULL,
    body       text        NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX messages_owner_id ON messages (owner_id, id) WHERE NOT deleted;

-- +goose Down
DROP TABLE messages;
