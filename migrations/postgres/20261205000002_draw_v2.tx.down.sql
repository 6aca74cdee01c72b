CREATE UNIQUE INDEX participants_giveaway_user_v1_key
    ON participants (giveaway_id, user_id) INCLUDE (captcha_completed, subscription_verified);
DROP INDEX participants_giveaway_user_key;
ALTER INDEX participants_giveaway_user_v1_key RENAME TO participants_giveaway_user_key;
ALTER TABLE participants DROP COLUMN tickets;
DROP INDEX IF EXISTS draws_unlogged_idx;
DROP INDEX IF EXISTS draws_beacon_at_idx;
ALTER TABLE draws DROP COLUMN finish_lease_until;
ALTER TABLE draws DROP COLUMN beacon_at;
ALTER TABLE draws DROP COLUMN pending_redraw;
ALTER TABLE draws DROP COLUMN log_last;
ALTER TABLE draws DROP COLUMN log_seq;
ALTER TABLE draws DROP COLUMN version;
ALTER TABLE draws DROP CONSTRAINT draws_status_check;
ALTER TABLE draws ADD CONSTRAINT draws_status_check CHECK (status IN ('committed', 'drawn'));
