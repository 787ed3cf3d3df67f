-- +goose NO TRANSACTION
-- +goose Up
-- All-clients mailings: the mailings read model says whether a mailing
-- sends to every client the owner has when a run starts, and the senders
-- find an owner's client.created events as one index range to read the
-- recipients a run's snapshot fixed. Built concurrently, so a store with
-- events is not locked while it builds.
ALTER TABLE mailings ADD COLUMN IF NOT EXISTS all_clients boolean NOT NULL DEFAULT false;
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_client_owner ON events ((data->>'owner_id'), position)
    WHERE type = 'client.created';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS events_client_owner;
ALTER TABLE mailings DROP COLUMN IF EXISTS all_clients;
