-- +goose NO TRANSACTION
-- +goose Up
-- Opt-outs in the clients read model: when the client unsubscribed, when
-- its address was suppressed after bouncing and why. A deleted client's row
-- keeps them: an owner re-adding the address inherits its standing, found
-- through clients_opted_out. The covering index of the list page gains the
-- new columns the page shows.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS unsubscribed_at timestamptz,
    ADD COLUMN IF NOT EXISTS suppressed_at timestamptz,
    ADD COLUMN IF NOT EXISTS suppression_reason text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS suppression_reply text NOT NULL DEFAULT '';
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_opted_out ON clients (owner_id, lower(email))
    WHERE unsubscribed_at IS NOT NULL OR suppressed_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_owner_list ON clients (owner_id, id)
    INCLUDE (email, full_name, comment, version, created_at, updated_at, unsubscribed_at, suppressed_at, suppression_reason)
    WHERE NOT deleted;
DROP INDEX CONCURRENTLY IF EXISTS clients_owner_page;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_owner_page ON clients (owner_id, id)
    INCLUDE (email, full_name, comment, version, created_at, updated_at) WHERE NOT deleted;
DROP INDEX CONCURRENTLY IF EXISTS clients_owner_list;
DROP INDEX CONCURRENTLY IF EXISTS clients_opted_out;
ALTER TABLE clients DROP COLUMN IF EXISTS suppression_reply, DROP COLUMN IF EXISTS suppression_reason,
    DROP COLUMN IF EXISTS suppressed_at, DROP COLUMN IF EXISTS unsubscribed_at;
