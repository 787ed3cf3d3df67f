-- +goose Up
-- The public figures (projector "stats"), kept as counters so the home page
-- never scans. The projector keeps the little per-client and per-mailing
-- state it needs to move the counters by itself, not relying on the order
-- in which other projectors apply.
CREATE TABLE stats_clients (
    client_id uuid   PRIMARY KEY,
    email_key text   NOT NULL,
    deleted   boolean NOT NULL DEFAULT false,
    version   bigint NOT NULL
);
-- How many live clients over the service hold each (lower-cased) email.
CREATE TABLE stats_client_emails (
    email_key text PRIMARY KEY,
    n         bigint NOT NULL CHECK (n > 0)
);
CREATE TABLE stats_mailings (
    mailing_id uuid    PRIMARY KEY,
    status     text    NOT NULL,
    is_active  boolean NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    version    bigint  NOT NULL
);
CREATE TABLE public_stats (
    id              int    PRIMARY KEY CHECK (id = 1),
    mailings_total  bigint NOT NULL,
    mailings_active bigint NOT NULL,
    clients_unique  bigint NOT NULL
);
INSERT INTO public_stats VALUES (1, 0, 0, 0);

-- +goose Down
DROP TABLE public_stats;
DROP TABLE stats_mailings;
DROP TABLE stats_client_emails;
DROP TABLE stats_clients;
