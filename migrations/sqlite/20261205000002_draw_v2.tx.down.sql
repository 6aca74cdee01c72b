ALTER TABLE participants DROP COLUMN tickets;
DROP INDEX IF EXISTS draws_unlogged_idx;
DROP INDEX IF EXISTS draws_beacon_at_idx;
CREATE TABLE draws_v1 (
    giveaway_id          INTEGER PRIMARY KEY CHECK (giveaway_id > 0),
    status               TEXT      NOT NULL CHECK (status IN ('committed', 'drawn')),
    server_seed          BLOB      NOT NULL CHECK (length(server_seed) = 32),
    commitment           BLOB      NOT NULL,
    committed_at         TIMESTAMP NOT NULL,
    require_subscription BOOLEAN   NOT NULL DEFAULT FALSE,
    drawn_at             TIMESTAMP,
    record               TEXT,
    tree_cache           BLOB
);
INSERT INTO draws_v1 (giveaway_id, status, server_seed, commitment, committed_at, require_subscription, drawn_at, record, tree_cache)
    SELECT giveaway_id, status, server_seed, commitment, committed_at, require_subscription, drawn_at, record, tree_cache FROM draws;
DROP TABLE draws;
ALTER TABLE draws_v1 RENAME TO draws;
