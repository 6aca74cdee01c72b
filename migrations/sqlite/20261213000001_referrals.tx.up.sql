-- Referrals, as on Postgres (see ../postgres): who invited each participant
-- and the bonus tickets that entry gave the referrer; the captcha keeps the
-- referrer until the registration it completes.
ALTER TABLE participants ADD COLUMN referrer_user_id INTEGER
    CHECK (referrer_user_id > 0 AND referrer_user_id <> user_id);
ALTER TABLE participants ADD COLUMN referral_tickets INTEGER NOT NULL DEFAULT 0
    CHECK (referral_tickets >= 0 AND (referral_tickets = 0 OR referrer_user_id IS NOT NULL));

ALTER TABLE captcha_challenges ADD COLUMN referrer_user_id INTEGER
    CHECK (referrer_user_id > 0 AND referrer_user_id <> user_id);
