DROP TRIGGER draws_lock_giveaway_rules ON draws;
DROP FUNCTION lock_giveaway_rules();
DROP TABLE giveaway_rules;
