-- +goose NO TRANSACTION
-- +goose Up
-- The runs in progress (status 'started') are read on every scrape of
-- /metrics (herald_runs_in_progress, herald_run_deliveries_pending); the
-- table keeps every run ever made, so they get an index of their own.
-- Built concurrently, so reports are not locked while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS report_runs_started ON report_runs (run_id) WHERE status = 'started';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS report_runs_started;
