-- +goose Up
-- A session also ends after SESSION_IDLE_TIMEOUT without use: seen_at is when
-- it was last used, moved forward at most once a minute by the identity
-- service.
ALTER TABLE sessions ADD COLUMN seen_at timestamptz;
UPDATE sessions SET seen_at = created_at;
ALTER TABLE sessions ALTER COLUMN seen_at SET NOT NULL;

-- +goose Down
ALTER TABLE sessions DROP COLUMN seen_at;
