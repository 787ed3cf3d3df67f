-- +goose Up
-- A run's delivery attempts are recorded in batches, one
-- run.deliveries_attempted event holding many attempts (data->'attempts');
-- runs recorded before hold a run.delivery_attempted event per attempt.
-- run_attempts(run) returns a run's attempts, one row each, from both kinds
-- of event, so the senders and the checks read one shape.
-- +goose StatementBegin
CREATE FUNCTION run_attempts(run uuid)
RETURNS TABLE (version bigint, idx int, client_id uuid, success boolean, permanent boolean, skipped boolean, attempt int,
               attempted_at timestamptz, retry_at timestamptz, server_response text)
LANGUAGE sql STABLE AS $$
SELECT x.version, x.idx, (x.a->>'client_id')::uuid, coalesce((x.a->>'success')::boolean, false),
       coalesce((x.a->>'permanent')::boolean, false), x.a ? 'skipped', coalesce((x.a->>'attempt')::int, 1),
       (x.a->>'attempted_at')::timestamptz, (x.a->>'retry_at')::timestamptz, x.a->>'server_response'
FROM (SELECT e.version, 0 AS idx, e.data AS a FROM events e WHERE e.stream_id = run AND e.type = 'run.delivery_attempted'
      UNION ALL
      SELECT e.version, (t.n - 1)::int, t.a FROM events e, jsonb_array_elements(e.data->'attempts') WITH ORDINALITY AS t (a, n)
      WHERE e.stream_id = run AND e.type = 'run.deliveries_attempted') x
$$;
-- +goose StatementEnd
-- The attempts read model pages by attempts.position, which now is an
-- attempt's place in store order: its event's position times 65536 plus
-- its index in the event (0 for an attempt recorded alone).
UPDATE attempts SET position = position << 16;

-- +goose Down
UPDATE attempts SET position = position >> 16;
DROP FUNCTION run_attempts(uuid);
