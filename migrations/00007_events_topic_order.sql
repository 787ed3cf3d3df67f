-- +goose NO TRANSACTION
-- +goose Up
-- A projector reads ahead one topic (stream type) in commit order from its
-- checkpoint. On the commit-order index that scan passes every event of
-- every other type, and the planner, misled by statistics a bulk load made
-- stale, can choose a bitmap scan and a sort of the whole backlog for each
-- batch it takes. This index gives each topic its own commit order. Built
-- concurrently, so a store with events is not locked while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_topic_order ON events (stream_type, tx_id, position);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS events_topic_order;
