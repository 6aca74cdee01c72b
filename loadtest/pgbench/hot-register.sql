-- One registration into one hot giveaway, as a plain database client sends
-- it: read the user, insert the participant unless already there, count the
-- participation when it was inserted. Each client registers its own fresh
-- users in turn. Variables (pgbench -D): gid, the giveaway; user_base and
-- per_client, the users of client c are user_base + c * per_client + 1, 2,
-- ...; n=0, the client's counter. The users must exist and have passed the
-- captcha (see README.md).
\set n :n + 1
\set uid :user_base + :client_id * :per_client + :n
BEGIN;
SELECT captcha_completed::int AS passed FROM users WHERE user_id = :uid \gset
\if :passed
WITH ins AS (INSERT INTO participants (giveaway_id, user_id, participated_at, captcha_completed, subscription_verified) VALUES (:gid, :uid, now(), TRUE, FALSE) ON CONFLICT (giveaway_id, user_id) DO NOTHING RETURNING id) SELECT count(*) AS inserted FROM ins \gset
\if :inserted
UPDATE users SET total_participations = total_participations + 1, first_participation = COALESCE(first_participation, now()) WHERE user_id = :uid;
\endif
\endif
END;
