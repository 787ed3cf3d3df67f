-- +goose Up
-- The event store: one append-only table. tx_id is the writing transaction's
-- id; readers order by (tx_id, position) and only read below the oldest
-- running transaction, so an event whose transaction commits late is never
-- skipped (a plain "position > last" would skip it).
CREATE TABLE events (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    stream_type text        NOT NULL,
    stream_id   uuid        NOT NULL,
    version     bigint      NOT NULL CHECK (version > 0),
    type        text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, version)
);
CREATE INDEX events_commit_order ON events (tx_id, position);

-- Set-based rules events alone cannot hold (one account per email, one
-- client per email per owner) claim a key here in the append transaction.
CREATE TABLE unique_claims (
    scope      text NOT NULL,
    key        text NOT NULL,
    owner_id   uuid NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Where each reader of the store (the relay, rebuilds) has got to. topics
-- holds, per topic, the cursor of the last event published on it: each
-- message names its predecessor so a consumer can tell a gap.
CREATE TABLE store_checkpoints (
    name       text PRIMARY KEY,
    tx_id      xid8   NOT NULL,
    position   bigint NOT NULL,
    topics     jsonb  NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Where each projector has got to, per topic it consumes (each topic is
-- delivered in commit order, topics are independent of each other).
CREATE TABLE projection_checkpoints (
    projector  text   NOT NULL,
    topic      text   NOT NULL,
    tx_id      xid8   NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projector, topic)
);

-- Events a projector could not apply after its retries: parked, logged and
-- skipped so one bad event does not block the stream forever.
CREATE TABLE projection_parked (
    projector  text        NOT NULL,
    event_id   uuid        NOT NULL,
    position   bigint      NOT NULL,
    type       text        NOT NULL,
    error      text        NOT NULL,
    attempts   int         NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projector, event_id)
);

-- +goose Down
DROP TABLE projection_parked;
DROP TABLE projection_checkpoints;
DROP TABLE store_checkpoints;
DROP TABLE unique_claims;
DROP TABLE events;
