-- +goose Up
-- Deliveries per day (the dashboard's chart) are counted per owner and
-- quarter hour, kept by the attempts projector as it inserts attempts,
-- instead of read from an index over every attempt: a day in any time zone
-- in use begins on a quarter hour, so the quarters sum to the days of any
-- calendar. The index cost about 65 bytes a delivery; a quarter's row
-- holds all of an owner's deliveries in it.
CREATE TABLE attempt_quarters (
    owner_id uuid        NOT NULL,
    quarter  timestamptz NOT NULL,
    sent     bigint      NOT NULL,
    failed   bigint      NOT NULL,
    PRIMARY KEY (owner_id, quarter)
);
CREATE INDEX attempt_quarters_quarter ON attempt_quarters (quarter);
INSERT INTO attempt_quarters (owner_id, quarter, sent, failed)
SELECT owner_id, date_bin('15 minutes', attempted_at, timestamptz '2000-01-01 00:00:00+00'),
       count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success AND final)
FROM attempts GROUP BY 1, 2
HAVING count(*) FILTER (WHERE success OR final) > 0;
DROP INDEX attempts_owner_time;
-- An attempt's place in store order (its event's position and its index in
-- it) is unique, so the index that pages a mailing's attempts by it also
-- keeps an attempt from being inserted twice, and the primary key over the
-- attempt's id, about 42 bytes a delivery, goes. The id stays a column.
CREATE UNIQUE INDEX attempts_mailing_position_key ON attempts (mailing_id, position DESC);
DROP INDEX attempts_mailing_position;
ALTER TABLE attempts DROP CONSTRAINT attempts_pkey;

-- +goose Down
ALTER TABLE attempts ADD PRIMARY KEY (id);
CREATE INDEX attempts_mailing_position ON attempts (mailing_id, position DESC);
DROP INDEX attempts_mailing_position_key;
CREATE INDEX attempts_owner_time ON attempts (owner_id, attempted_at) INCLUDE (success, final);
DROP TABLE attempt_quarters;
