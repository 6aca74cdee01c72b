-- enroll_participants registers a batch of users in one statement, the one
-- every registration on Postgres runs (internal/store/enroll_batch.go).
--
-- It is a function, not a statement the service sends, because a PL/pgSQL
-- function's statements are planned once per database connection and the
-- plans kept, where a statement sent as text is parsed and planned every
-- time, and planning the registration cost Postgres more than running it.
-- Named prepared statements would keep plans too, but they do not pass
-- through PgBouncer in transaction pooling (before 1.21); a function's
-- plans live in the server connection and do. Its statements are each a
-- lookup by key, so a plan made while the tables were small (a seq scan of
-- a few pages) is still right once they are large, until the next ANALYZE
-- replans it: a join over the batch, planned once for an empty
-- participants table, would scan that table whole on every call.
--
-- batch is a JSON array of registrations, distinct in (g, u): i, the
-- caller's index; g, the giveaway; u, the user; un, fn, ln, the optional
-- names; at, the time; sv, whether the subscription was verified. The
-- function first holds the draw rows of the batch's giveaways shared, in
-- giveaway id order (so a draw waits for it, and it waits for a draw);
-- then, in user id order, it locks each user's row, inserts the
-- participant ON CONFLICT DO NOTHING where the draw is committed and the
-- user has passed the captcha, and counts the participation when one was
-- inserted. Locking the users in id order makes two batches that share
-- users queue on the first of them instead of deadlocking on the
-- participants' unique key or the users' counts; a concurrent registration
-- of the same user has therefore committed before the insert runs, and the
-- lookup that follows an insert that did nothing finds its row.
--
-- It returns one row per registration: its index, the draw's status
-- (NULL: no draw), whether the user passed the captcha (NULL: no such
-- user), the id it stored (NULL: none) and the id found otherwise (NULL:
-- none).
CREATE FUNCTION enroll_participants(batch jsonb)
RETURNS TABLE (i int, draw_status text, captcha_completed boolean, created_id bigint, existing_id bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    g bigint;
    st text;
    passed boolean;
    statuses jsonb := '{}';
BEGIN
    -- The batch's draws first, shared, in giveaway id order.
    FOR g IN SELECT DISTINCT (e->>'g')::bigint FROM jsonb_array_elements(batch) AS e ORDER BY 1
    LOOP
        SELECT d.status INTO st FROM draws AS d WHERE d.giveaway_id = g FOR KEY SHARE;
        IF FOUND THEN
            statuses := statuses || jsonb_build_object(g::text, st);
        END IF;
    END LOOP;
    -- Then each registration, in user id order.
    FOR r IN SELECT * FROM jsonb_to_recordset(batch)
        AS x(i int, g bigint, u bigint, un text, fn text, ln text, at timestamptz, sv boolean)
        ORDER BY x.u, x.g
    LOOP
        i := r.i;
        draw_status := statuses->>(r.g::text);
        SELECT u.captcha_completed INTO passed FROM users u WHERE u.user_id = r.u FOR NO KEY UPDATE;
        captcha_completed := passed;
        created_id := NULL;
        existing_id := NULL;
        IF draw_status = 'committed' AND passed THEN
            INSERT INTO participants AS p (giveaway_id, user_id, username, first_name, last_name, participated_at, captcha_completed, subscription_verified)
            VALUES (r.g, r.u, r.un, r.fn, r.ln, r.at, TRUE, r.sv)
            ON CONFLICT (giveaway_id, user_id) DO NOTHING
            RETURNING p.id INTO created_id;
            IF created_id IS NOT NULL THEN
                UPDATE users u SET total_participations = u.total_participations + 1,
                    first_participation = COALESCE(u.first_participation, r.at)
                WHERE u.user_id = r.u;
            END IF;
        END IF;
        IF created_id IS NULL THEN
            SELECT p.id INTO existing_id FROM participants p WHERE p.giveaway_id = r.g AND p.user_id = r.u;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;
