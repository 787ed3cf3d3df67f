-- +goose Up
-- Deferred deliveries: a temporary failure leaves a delivery waiting for its
-- next attempt (run.delivery_attempted carries retry_at), as an MTA does.
--
-- saga_runs.retry_at is when the scheduler hands a run with deferred
-- deliveries back to the senders: the earliest retry_at among them, written
-- by the sender that parked the run. The attempts themselves are the truth;
-- a lost wake-up is found by the watchdog.
ALTER TABLE saga_runs ADD COLUMN retry_at timestamptz;
CREATE INDEX saga_runs_retry ON saga_runs (retry_at) WHERE retry_at IS NOT NULL;

-- attempts.final: the attempt ends its delivery (a success, or a failure not
-- retried); retry_at: when a deferred one is tried again.
ALTER TABLE attempts ADD COLUMN final boolean NOT NULL DEFAULT true,
    ADD COLUMN retry_at timestamptz;
UPDATE attempts a SET final = a.success OR coalesce((e.data->>'permanent')::boolean, false)
FROM events e WHERE e.event_id = a.id AND NOT a.success;

-- deferred: deliveries whose last attempt failed temporarily and that wait
-- for the next one (a run that finishes leaves none).
ALTER TABLE report_runs ADD COLUMN deferred bigint NOT NULL DEFAULT 0;
ALTER TABLE report_mailings ADD COLUMN deferred bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE report_mailings DROP COLUMN deferred;
ALTER TABLE report_runs DROP COLUMN deferred;
ALTER TABLE attempts DROP COLUMN retry_at, DROP COLUMN final;
DROP INDEX saga_runs_retry;
ALTER TABLE saga_runs DROP COLUMN retry_at;
