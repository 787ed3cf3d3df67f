-- +goose Up
-- Deliveries per day of one owner (the dashboard's chart): a range of one
-- owner's attempts by time, answered from the index alone.
CREATE INDEX attempts_owner_time ON attempts (owner_id, attempted_at) INCLUDE (success, final);

-- +goose Down
DROP INDEX attempts_owner_time;
