-- +goose Up
-- events_read_bound (00002) looks up pg_stat_activity once per in-progress
-- transaction of the snapshot, and the view joins pg_database and
-- pg_authid and copies every backend's status each time: costly under load,
-- and the relay and every projector call it on each read. Same rule, same
-- result: the backends' transaction ids are read once per call, without the
-- joins, and only when the snapshot has an in-progress transaction at all.
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_read_bound() RETURNS xid8
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_stat_activity a
             WHERE a.backend_xid = xid(x) AND a.datname IS DISTINCT FROM current_database())),
        pg_snapshot_xmax(pg_current_snapshot()))
$$;
-- +goose StatementEnd
