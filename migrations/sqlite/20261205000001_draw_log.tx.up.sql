-- The draw log, as on Postgres (see ../postgres): entries, every perfect
-- subtree's hash, the one head row, checkpoints, cosignatures, witnesses'
-- sizes and the generated signing key. SQLite's single connection already
-- serialises appends.
CREATE TABLE log_entries (
    idx         INTEGER PRIMARY KEY CHECK (idx >= 0),
    giveaway_id INTEGER NOT NULL CHECK (giveaway_id > 0),
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL
);

CREATE INDEX log_entries_giveaway_idx ON log_entries (giveaway_id, idx);

CREATE TABLE log_nodes (
    level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE log_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    size    INTEGER NOT NULL CHECK (size >= 0),
    compact BLOB    NOT NULL
);

INSERT INTO log_head (id, size, compact) VALUES (1, 0, X'');

CREATE TABLE log_checkpoints (
    tree_size INTEGER PRIMARY KEY CHECK (tree_size >= 0),
    note      TEXT    NOT NULL
);

CREATE TABLE log_cosignatures (
    tree_size INTEGER NOT NULL REFERENCES log_checkpoints (tree_size),
    witness   TEXT    NOT NULL,
    signature TEXT    NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

CREATE TABLE log_witnesses (
    witness TEXT    PRIMARY KEY,
    size    INTEGER NOT NULL CHECK (size >= 0)
);

CREATE TABLE log_signing_key (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    signer_key   TEXT NOT NULL,
    verifier_key TEXT NOT NULL
);
