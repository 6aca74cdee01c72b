-- Referrals: who invited each participant (NULL for nobody) and how many
-- bonus tickets that entry gave the referrer (0 when none: no bonus in the
-- rules, the referrer not an entrant yet, or already at max_tickets). The
-- participation is inserted once per (giveaway, user), and its referral is
-- settled in the same transaction, so an invited user counts once however
-- often they register. A user never refers themselves.
--
-- The constraints are NOT VALID: the existing rows hold NULL and 0, which
-- pass, and skipping the scan keeps the table's lock short. New and updated
-- rows are checked all the same.
ALTER TABLE participants ADD COLUMN referrer_user_id BIGINT;
ALTER TABLE participants ADD COLUMN referral_tickets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD CONSTRAINT participants_referrer_check
    CHECK (referrer_user_id > 0 AND referrer_user_id <> user_id) NOT VALID;
ALTER TABLE participants ADD CONSTRAINT participants_referral_tickets_check
    CHECK (referral_tickets >= 0 AND (referral_tickets = 0 OR referrer_user_id IS NOT NULL)) NOT VALID;

-- The captcha a first-time user solves before their registration completes
-- keeps the referrer given to register, for the giveaway it was issued for.
ALTER TABLE captcha_challenges ADD COLUMN referrer_user_id BIGINT;
ALTER TABLE captcha_challenges ADD CONSTRAINT captcha_challenges_referrer_check
    CHECK (referrer_user_id > 0 AND referrer_user_id <> user_id) NOT VALID;
