ALTER TABLE captcha_challenges DROP COLUMN referrer_user_id;
ALTER TABLE participants DROP COLUMN referral_tickets;
ALTER TABLE participants DROP COLUMN referrer_user_id;
