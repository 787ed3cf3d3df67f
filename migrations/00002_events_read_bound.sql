-- +goose Up
-- events_read_bound: readers of the store in commit order read only events
-- whose transaction id is below this bound, so a transaction that took its id
-- first but commits last is never skipped. The plain bound is the snapshot's
-- xmin; but xmin is cluster-wide, so one long transaction in another
-- database (a report, a migration, another project's batch job, parallel
-- test databases) would stall the relay and every projector. Transactions
-- still running in another database cannot be writing our events table and
-- are left out; every other in-progress transaction (ours, or one that
-- finished after our snapshot, which we cannot classify) still holds the
-- bound back.
-- +goose StatementBegin
CREATE FUNCTION events_read_bound() RETURNS xid8
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
         WHERE NOT EXISTS (
             SELECT 1 FROM pg_stat_activity a
             WHERE a.backend_xid = xid(x) AND a.datname IS DISTINCT FROM current_database())),
        pg_snapshot_xmax(pg_current_snapshot()))
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION events_read_bound();
