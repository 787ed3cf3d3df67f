-- +goose Up
-- Read models of the users projector (projections/users.go): accounts for
-- the staff list, /users/{id} and the authenticator, and the groups with
-- their permissions. Staff status and permissions are derived at query time
-- (managers membership; union of the groups' permissions), so a change to a
-- group's permissions reaches every member at once.
CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    email          text        NOT NULL,
    name           text        NOT NULL,
    is_active      boolean     NOT NULL,
    is_superuser   boolean     NOT NULL,
    email_verified boolean     NOT NULL,
    groups         text[]      NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        bigint      NOT NULL
);
CREATE INDEX users_email ON users (email);

CREATE TABLE access_groups (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    permissions text[]      NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL,
    version     bigint      NOT NULL
);

-- +goose Down
DROP TABLE access_groups;
DROP TABLE users;
