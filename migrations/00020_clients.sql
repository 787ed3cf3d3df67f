-- +goose Up
-- The clients read model (projector "clients"). A deleted client keeps its
-- row as a tombstone, so a redelivered older event cannot bring it back.
CREATE TABLE clients (
    id         uuid        PRIMARY KEY,
    owner_id   uuid        NOT NULL,
    email      text        NOT NULL,
    full_name  text        NOT NULL,
    comment    text        NOT NULL DEFAULT '',
    deleted    boolean     NOT NULL DEFAULT false,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- Owners list their clients in id (creation) order, page by page.
CREATE INDEX clients_owner_id ON clients (owner_id, id) WHERE NOT deleted;

-- +goose Down
DROP TABLE clients;
