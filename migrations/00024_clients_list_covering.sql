-- +goose NO TRANSACTION
-- +goose Up
-- GET /api/v1/clients reads one owner's page of up to 51 clients in id
-- order. Clients are created over time, so one owner's rows lie on as many
-- heap pages as the page has rows; with every column the page shows in the
-- index, the page is read from a few index pages (an index-only scan once
-- vacuum has marked the heap pages all-visible), at the price of a larger
-- index. Built concurrently, so a populated read model is not locked while
-- it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_owner_page ON clients (owner_id, id)
    INCLUDE (email, full_name, comment, version, created_at, updated_at) WHERE NOT deleted;
DROP INDEX CONCURRENTLY IF EXISTS clients_owner_id;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_owner_id ON clients (owner_id, id) WHERE NOT deleted;
DROP INDEX CONCURRENTLY IF EXISTS clients_owner_page;
