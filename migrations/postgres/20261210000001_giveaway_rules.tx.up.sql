-- Each giveaway's rules, and whether they are locked: the rules are fixed
-- when the giveaway's draw is committed (its first registration or an
-- explicit commit). rules is the rules' RFC 8785 JSON exactly as served
-- and hashed; NULL means the defaults.
CREATE TABLE giveaway_rules (
    giveaway_id BIGINT PRIMARY KEY CHECK (giveaway_id > 0),
    rules       TEXT,
    updated_at  TIMESTAMPTZ,
    locked_at   TIMESTAMPTZ
);

-- Giveaways committed before rules existed keep the defaults.
INSERT INTO giveaway_rules (giveaway_id, locked_at) SELECT giveaway_id, committed_at FROM draws;

-- The commit locks the rules in the database, so no replica can change
-- them once a draw exists: the upsert waits for a concurrent, uncommitted
-- change of the same giveaway's rules and then locks what it saved, and a
-- change that waited for a commit finds the rules locked.
CREATE FUNCTION lock_giveaway_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO giveaway_rules (giveaway_id, locked_at) VALUES (NEW.giveaway_id, NEW.committed_at)
    ON CONFLICT (giveaway_id) DO UPDATE SET locked_at = COALESCE(giveaway_rules.locked_at, EXCLUDED.locked_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER draws_lock_giveaway_rules AFTER INSERT ON draws
    FOR EACH ROW EXECUTE FUNCTION lock_giveaway_rules();
