-- +goose NO TRANSACTION
-- +goose Up
-- A mailing's page lists its attempts failures first, page by page, keyed
-- on (success, position): without this index every page would sort all of
-- the mailing's attempts. Built concurrently, so a populated read model is
-- not locked while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS attempts_mailing_outcome ON attempts (mailing_id, success, position);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS attempts_mailing_outcome;
