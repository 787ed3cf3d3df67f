-- +goose Up
-- events_read_bound (00004) as PL/pgSQL: same rule, same result. A SQL
-- function that cannot be inlined is parsed and planned again on every
-- call, and the relay and every projector call it once per read, so the
-- planning is most of a read's cost. PL/pgSQL keeps its plans for the
-- session.
-- A STABLE function runs in its caller's snapshot, so the bound still
-- belongs to the snapshot the read uses.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_read_bound() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    snap  pg_snapshot := pg_current_snapshot();
    bound xid8;
BEGIN
    IF pg_snapshot_xmin(snap) = pg_snapshot_xmax(snap) THEN
        RETURN pg_snapshot_xmax(snap); -- nothing in progress
    END IF;
    SELECT min(x) INTO bound FROM pg_snapshot_xip(snap) AS x
    WHERE xid(x) NOT IN (
        SELECT a.backend_xid FROM pg_stat_get_activity(NULL) AS a
        WHERE a.backend_xid IS NOT NULL
          AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database()));
    RETURN coalesce(bound, pg_snapshot_xmax(snap));
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_read_bound() RETURNS xid8
LANGUAGE sql STABLE AS $$
    WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s)
    SELECT coalesce(
        (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE xid(x) NOT IN (
             SELECT a.backend_xid FROM pg_stat_get_activity(NULL) AS a
             WHERE a.backend_xid IS NOT NULL
               AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database()))),
        (SELECT pg_snapshot_xmax(s) FROM snap))
$$;
-- +goose StatementEnd
