-- +goose Up
-- The event table is the truth and only grows: a statement that would
-- change or remove events (UPDATE, DELETE, TRUNCATE) is refused at the
-- database, for every role, the table's owner and superusers included.
-- The trigger is per statement, so even a statement touching no row fails.
-- Only a role that may alter the table (drop the trigger) or a session in
-- replication mode (session_replication_role = replica) gets past it.
-- +goose StatementBegin
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'append new events instead';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_immutable
    BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- +goose Down
DROP TRIGGER events_immutable ON events;
DROP FUNCTION events_refuse_change();
