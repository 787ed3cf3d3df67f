-- +goose Up
-- events_read_bound with a fast path. The full rule (00002) leaves out of
-- the bound the transactions of other databases, which it finds by reading
-- every backend's status: a cost that grows with the connections open and
-- is most of a relay read, and the relay reads on every commit. But a
-- transaction of another database only matters if it stays open: one that
-- ends within milliseconds holds readers back no longer than one of ours.
-- So the bound is the snapshot's xmin (never above the full rule's bound,
-- so nothing is ever skipped) until the same xmin has held it for 20 ms in
-- this session; then the full rule runs, on every call while that xmin
-- stays. The session remembers the xmin and when it first saw it in a
-- custom setting.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_read_bound() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    snap   pg_snapshot := pg_current_snapshot();
    lo     xid8 := pg_snapshot_xmin(snap);
    seen   text := current_setting('herald.read_bound_xmin', true);
    now_ms bigint;
    bound  xid8;
BEGIN
    IF lo = pg_snapshot_xmax(snap) THEN
        RETURN lo; -- nothing in progress
    END IF;
    now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    IF coalesce(split_part(seen, ':', 1), '') <> lo::text THEN
        PERFORM set_config('herald.read_bound_xmin', lo::text || ':' || now_ms, false);
        RETURN lo;
    END IF;
    IF now_ms - split_part(seen, ':', 2)::bigint < 20 THEN
        RETURN lo;
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
