-- telegive-draw-v2, as on Postgres (see ../postgres). SQLite cannot change
-- a CHECK constraint in place, so the draws table is rebuilt with the new
-- status and columns; nothing references it.
CREATE TABLE draws_v2 (
    giveaway_id          INTEGER PRIMARY KEY CHECK (giveaway_id > 0),
    status               TEXT      NOT NULL CHECK (status IN ('committed', 'frozen', 'drawn')),
    server_seed          BLOB      NOT NULL CHECK (length(server_seed) = 32),
    commitment           BLOB      NOT NULL,
    committed_at         TIMESTAMP NOT NULL,
    require_subscription BOOLEAN   NOT NULL DEFAULT FALSE,
    drawn_at             TIMESTAMP,
    record               TEXT,
    tree_cache           BLOB,
    version              TEXT      NOT NULL DEFAULT 'telegive-draw-v1',
    log_seq              INTEGER   NOT NULL DEFAULT 0 CHECK (log_seq >= 0),
    log_last             INTEGER,
    pending_redraw       TEXT,
    beacon_at            TIMESTAMP,
    finish_lease_until   TIMESTAMP
);

INSERT INTO draws_v2 (giveaway_id, status, server_seed, commitment, committed_at, require_subscription, drawn_at, record, tree_cache)
    SELECT giveaway_id, status, server_seed, commitment, committed_at, require_subscription, drawn_at, record, tree_cache FROM draws;

DROP TABLE draws;

ALTER TABLE draws_v2 RENAME TO draws;

CREATE INDEX draws_beacon_at_idx ON draws (beacon_at) WHERE beacon_at IS NOT NULL;
CREATE INDEX draws_unlogged_idx ON draws (giveaway_id) WHERE log_seq = 0;

ALTER TABLE participants ADD COLUMN tickets INTEGER NOT NULL DEFAULT 1 CHECK (tickets >= 1);
