-- +goose Up
-- A message's optional HTML body; empty for messages without one.
ALTER TABLE messages ADD COLUMN body_html text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN body_html;
