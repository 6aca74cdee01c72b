-- Each giveaway's rules, and whether they are locked: the rules are fixed
-- when the giveaway's draw is committed (its first registration or an
-- explicit commit). rules is the rules' RFC 8785 JSON exactly as served
-- and hashed; NULL means the defaults.
CREATE TABLE giveaway_rules (
    giveaway_id INTEGER PRIMARY KEY CHECK (giveaway_id > 0),
    rules       TEXT,
    updated_at  TIMESTAMP,
    locked_at   TIMESTAMP
);

-- Giveaways committed before rules existed keep the defaults.
INSERT INTO giveaway_rules (giveaway_id, locked_at) SELECT giveaway_id, committed_at FROM draws;

-- The commit locks the rules in the database, in the transaction that
-- creates the draw.
CREATE TRIGGER draws_lock_giveaway_rules AFTER INSERT ON draws
BEGIN
    INSERT OR IGNORE INTO giveaway_rules (giveaway_id) VALUES (NEW.giveaway_id);
    UPDATE giveaway_rules SET locked_at = NEW.committed_at WHERE giveaway_id = NEW.giveaway_id AND locked_at IS NULL;
END;
