-- +goose Up
-- Deliveries skipped (the client unsubscribed, or its address is
-- suppressed) and hard bounces (5xx replies) in the attempts and reports
-- read models: attempts.skipped is why an attempt sent nothing ('' when it
-- sent); the reports count both apart from successes and failures.
ALTER TABLE attempts ADD COLUMN skipped text NOT NULL DEFAULT '';
ALTER TABLE report_runs ADD COLUMN attempts_skipped bigint NOT NULL DEFAULT 0,
    ADD COLUMN bounced bigint NOT NULL DEFAULT 0;
ALTER TABLE report_mailings ADD COLUMN attempts_skipped bigint NOT NULL DEFAULT 0,
    ADD COLUMN bounced bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE report_mailings DROP COLUMN bounced, DROP COLUMN attempts_skipped;
ALTER TABLE report_runs DROP COLUMN bounced, DROP COLUMN attempts_skipped;
ALTER TABLE attempts DROP COLUMN skipped;
