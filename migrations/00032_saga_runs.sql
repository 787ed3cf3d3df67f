-- +goose Up
-- saga_runs: the runs that started and have not finished, kept by the
-- scheduler from mailing.started (which carries the run id) and removed by
-- the sender that finishes the run. The scheduler's watchdog hands a run
-- that has shown no progress for SEND_STALL_AFTER to the senders again: its
-- DispatchMailing command was lost (Redis lost its data, say). checked_at
-- is when the watchdog last looked at the run (at first, when it started).
CREATE TABLE saga_runs (
    run_id     uuid        PRIMARY KEY,
    mailing_id uuid        NOT NULL,
    started_at timestamptz NOT NULL,
    checked_at timestamptz NOT NULL
);
CREATE INDEX saga_runs_checked ON saga_runs (checked_at);

-- Runs started in the last day and unfinished when this migration runs are
-- watched too. An older one is not resumed by an upgrade (its mail would
-- arrive days late); `herald send --run ID` still hands it on by hand.
INSERT INTO saga_runs (run_id, mailing_id, started_at, checked_at)
SELECT s.stream_id, (s.data->>'mailing_id')::uuid, s.recorded_at, s.recorded_at
FROM events s
WHERE s.type = 'run.started'
  AND s.recorded_at > now() - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM events f WHERE f.stream_id = s.stream_id AND f.type = 'run.finished')
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE saga_runs;
