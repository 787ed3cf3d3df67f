-- +goose Up
-- The scheduling saga's durable state: one row per mailing it may still act
-- on. The saga's event handler keeps the mailing's setting here (version
-- guards redelivery); the scheduler loop claims rows whose due_at has come
-- with FOR UPDATE SKIP LOCKED, so any number of schedulers may run.
--   state 'scheduled':  the next run (at due_at, standing for run_due) fires
--   state 'completing': no run is left; the mailing completes at due_at
--   state 'done':       completed or deleted; nothing more to do
CREATE TABLE saga_schedule (
    mailing_id   uuid        PRIMARY KEY,
    owner_id     uuid        NOT NULL,
    version      bigint      NOT NULL,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    periodicity  text        NOT NULL,
    timezone     text        NOT NULL,
    active       boolean     NOT NULL,
    started      boolean     NOT NULL DEFAULT false,
    state        text        NOT NULL CHECK (state IN ('scheduled', 'completing', 'done')),
    -- when the scheduler acts next; null means nothing is pending
    due_at       timestamptz,
    -- the due time the next run stands for (its id is derived from it);
    -- differs from due_at only for the first run of an open window
    run_due      timestamptz,
    -- the due time of the last scheduled run fired or skipped
    last_due     timestamptz,
    last_run_id  uuid,
    runs_fired   int         NOT NULL DEFAULT 0,
    runs_skipped int         NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_schedule_due ON saga_schedule (due_at) WHERE due_at IS NOT NULL AND state <> 'done';

-- +goose Down
DROP TABLE saga_schedule;
