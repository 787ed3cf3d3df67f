-- +goose Up
-- The reports read model (projector "reports", projections/reports.go).
--
-- report_mailings: one row per mailing with its status (from the mailing
-- stream; version is the mailing stream version it reflects, 0 while only
-- run events have been seen, which can happen because run and mailing events
-- travel on different topics) and the counters of all its runs.
CREATE TABLE report_mailings (
    mailing_id       uuid        PRIMARY KEY,
    owner_id         uuid        NOT NULL,
    status           text        NOT NULL DEFAULT 'created',
    deleted          boolean     NOT NULL DEFAULT false,
    version          bigint      NOT NULL DEFAULT 0,
    runs             bigint      NOT NULL DEFAULT 0,
    attempts_total   bigint      NOT NULL DEFAULT 0,
    attempts_success bigint      NOT NULL DEFAULT 0,
    attempts_failure bigint      NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz
);
CREATE INDEX report_mailings_owner ON report_mailings (owner_id, mailing_id) WHERE NOT deleted AND version > 0;

-- report_runs: one row per run (stream type "run"). The counters of a run
-- come from its own stream only, so version (the run stream version the row
-- reflects) dedupes them exactly; the mailing's counters move in the same
-- transaction as the run's.
CREATE TABLE report_runs (
    run_id           uuid        PRIMARY KEY,
    mailing_id       uuid        NOT NULL,
    owner_id         uuid        NOT NULL,
    status           text        NOT NULL, -- started | finished | skipped
    trigger          text        NOT NULL DEFAULT '',
    due_at           timestamptz NOT NULL,
    at               timestamptz NOT NULL, -- started or skipped at
    finished_at      timestamptz,
    clients          bigint      NOT NULL DEFAULT 0,
    sent             bigint      NOT NULL DEFAULT 0,
    failed           bigint      NOT NULL DEFAULT 0,
    note             text        NOT NULL DEFAULT '', -- why it stopped early, or why it was skipped
    attempts_total   bigint      NOT NULL DEFAULT 0,
    attempts_success bigint      NOT NULL DEFAULT 0,
    attempts_failure bigint      NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    version          bigint      NOT NULL
);
CREATE INDEX report_runs_mailing ON report_runs (mailing_id, at);

-- report_items: each client and message with its owner, so a deletion
-- (whose event does not name the owner) moves the right owner's counter
-- once; report_owners holds those counters.
CREATE TABLE report_items (
    id       uuid    PRIMARY KEY,
    kind     text    NOT NULL, -- client | message
    owner_id uuid    NOT NULL,
    deleted  boolean NOT NULL DEFAULT false,
    version  bigint  NOT NULL
);
CREATE TABLE report_owners (
    owner_id       uuid   PRIMARY KEY,
    clients_total  bigint NOT NULL DEFAULT 0,
    messages_total bigint NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE report_owners;
DROP TABLE report_items;
DROP TABLE report_runs;
DROP TABLE report_mailings;
