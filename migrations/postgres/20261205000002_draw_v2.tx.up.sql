-- telegive-draw-v2: a giveaway's protocol version is fixed at its commit
-- (rows from before are v1); a draw may be frozen, waiting for its beacon
-- round; the draw row keeps the giveaway's place in the log (entries so far
-- and the index of the last), the redraw round waiting for its beacon, when
-- the awaited round is published, and the lease of a replica finishing it.
ALTER TABLE draws DROP CONSTRAINT draws_status_check;
ALTER TABLE draws ADD CONSTRAINT draws_status_check CHECK (status IN ('committed', 'frozen', 'drawn'));
ALTER TABLE draws ADD COLUMN version TEXT NOT NULL DEFAULT 'telegive-draw-v1';
ALTER TABLE draws ADD COLUMN log_seq BIGINT NOT NULL DEFAULT 0 CHECK (log_seq >= 0);
ALTER TABLE draws ADD COLUMN log_last BIGINT;
ALTER TABLE draws ADD COLUMN pending_redraw JSONB;
ALTER TABLE draws ADD COLUMN beacon_at TIMESTAMPTZ;
ALTER TABLE draws ADD COLUMN finish_lease_until TIMESTAMPTZ;

CREATE INDEX draws_beacon_at_idx ON draws (beacon_at) WHERE beacon_at IS NOT NULL;
CREATE INDEX draws_unlogged_idx ON draws (giveaway_id) WHERE log_seq = 0;

-- Tickets per entrant (1 until rules give more). The unique key is rebuilt
-- to include them, so that a freeze still reads the entrants from the
-- index alone.
ALTER TABLE participants ADD COLUMN tickets BIGINT NOT NULL DEFAULT 1 CHECK (tickets >= 1);
CREATE UNIQUE INDEX participants_giveaway_user_tickets_key
    ON participants (giveaway_id, user_id) INCLUDE (captcha_completed, subscription_verified, tickets);
DROP INDEX participants_giveaway_user_key;
ALTER INDEX participants_giveaway_user_tickets_key RENAME TO participants_giveaway_user_key;
