-- +goose Up
-- The attempts read model (GET /mailings/{id}/attempts): one row per
-- run.delivery_attempted event, keyed by the event id so a redelivered event
-- inserts nothing. attempt_runs remembers each run's mailing and owner from
-- run.started, which precedes the run's deliveries on the run topic.
CREATE TABLE attempt_runs (
    run_id     uuid PRIMARY KEY,
    mailing_id uuid NOT NULL,
    owner_id   uuid NOT NULL
);

CREATE TABLE attempts (
    id              uuid        PRIMARY KEY,
    mailing_id      uuid        NOT NULL,
    owner_id        uuid        NOT NULL,
    run_id          uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    email           text        NOT NULL,
    attempted_at    timestamptz NOT NULL,
    success         boolean     NOT NULL,
    server_response text        NOT NULL,
    attempt         int         NOT NULL,
    position        bigint      NOT NULL
);
-- Pages of one mailing's attempts, newest first, by store position.
CREATE INDEX attempts_mailing_position ON attempts (mailing_id, position DESC);

-- +goose Down
DROP TABLE attempts;
DROP TABLE attempt_runs;
