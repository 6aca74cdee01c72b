-- The draw log (telegive-log-v1): every event of every giveaway's draw, as
-- RFC 8785 entries, indexed densely from 0.
CREATE TABLE log_entries (
    idx         BIGINT PRIMARY KEY CHECK (idx >= 0),
    giveaway_id BIGINT NOT NULL CHECK (giveaway_id > 0),
    type        TEXT   NOT NULL,
    data        BYTEA  NOT NULL
);

CREATE INDEX log_entries_giveaway_idx ON log_entries (giveaway_id, idx);

-- Every perfect subtree of the log's RFC 6962 tree, leaves (level 0)
-- included: a proof reads its O(log n) nodes by key, never the entries.
CREATE TABLE log_nodes (
    level SMALLINT NOT NULL CHECK (level >= 0 AND level < 64),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    hash  BYTEA    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- The log's one head row: its size and the compact range of [0, size)
-- (the roots of its perfect subtrees, left to right, concatenated). Every
-- append locks it, so appends from every replica are serialised and the
-- indices stay dense.
CREATE TABLE log_head (
    id      SMALLINT PRIMARY KEY CHECK (id = 1),
    size    BIGINT   NOT NULL CHECK (size >= 0),
    compact BYTEA    NOT NULL
);

INSERT INTO log_head (id, size, compact) VALUES (1, 0, '');

-- Signed checkpoints, one per tree size: Ed25519 is deterministic, so every
-- replica signs the same note for the same size.
CREATE TABLE log_checkpoints (
    tree_size BIGINT PRIMARY KEY CHECK (tree_size >= 0),
    note      TEXT   NOT NULL
);

-- Witnesses' cosignature/v1 signatures of a checkpoint (the base64 of the
-- note signature line), the first one each witness gave.
CREATE TABLE log_cosignatures (
    tree_size BIGINT NOT NULL REFERENCES log_checkpoints (tree_size),
    witness   TEXT   NOT NULL,
    signature TEXT   NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

-- The latest tree size each witness is known to hold, so that a checkpoint
-- goes to it with the consistency proof from there.
CREATE TABLE log_witnesses (
    witness TEXT   PRIMARY KEY,
    size    BIGINT NOT NULL CHECK (size >= 0)
);

-- The note signing key generated when none is configured, one for every
-- replica.
CREATE TABLE log_signing_key (
    id           SMALLINT PRIMARY KEY CHECK (id = 1),
    signer_key   TEXT NOT NULL,
    verifier_key TEXT NOT NULL
);
