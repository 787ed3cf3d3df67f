-- +goose Up
-- A read that waits for the read models to reach a store position
-- (X-Min-Position) is woken when a checkpoint moves instead of polling:
-- every statement that writes the relay's or a projector's checkpoint
-- notifies channel herald_checkpoints (delivered at commit; the payload is
-- the table). Waiters in any process LISTEN on it.
-- +goose StatementBegin
CREATE FUNCTION checkpoints_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_checkpoints', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER store_checkpoints_notify
    AFTER INSERT OR UPDATE ON store_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_notify();
CREATE TRIGGER projection_checkpoints_notify
    AFTER INSERT OR UPDATE ON projection_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_notify();

-- +goose Down
DROP TRIGGER projection_checkpoints_notify ON projection_checkpoints;
DROP TRIGGER store_checkpoints_notify ON store_checkpoints;
DROP FUNCTION checkpoints_notify();
