-- The registration transaction exactly as the service sends it for a user
-- who has passed the captcha (internal/store: RegistrationState, then
-- EnsureDraw with a shared lock, InsertParticipant and AddParticipation in
-- one transaction), for pgbench to run at the same concurrency as the load
-- harness. Variables: users (the pool of user ids from user_base), gid_base
-- (the first of 1,000 giveaways whose draws are committed).
\set uid :user_base + random(0, :users - 1)
\set gid :gid_base + random(0, 999)
SELECT (SELECT id FROM participants WHERE giveaway_id = :gid AND user_id = :uid), (SELECT captcha_completed FROM users WHERE user_id = :uid), (SELECT status FROM draws WHERE giveaway_id = :gid);
BEGIN;
SELECT * FROM draws WHERE giveaway_id = :gid FOR KEY SHARE;
INSERT INTO participants (giveaway_id, user_id, username, first_name, last_name, participated_at, captcha_completed, subscription_verified) VALUES (:gid, :uid, NULL, NULL, NULL, now(), TRUE, FALSE) ON CONFLICT (giveaway_id, user_id) DO NOTHING RETURNING id;
INSERT INTO users (user_id, total_participations, first_participation) VALUES (:uid, 1, now()) ON CONFLICT (user_id) DO UPDATE SET total_participations = users.total_participations + 1, first_participation = COALESCE(users.first_participation, excluded.first_participation);
COMMIT;
