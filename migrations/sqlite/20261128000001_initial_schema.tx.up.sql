-- The embedded schema mirrors the Postgres one (see ../postgres); SQLite
-- spells identity columns, timestamps and binary data differently.
CREATE TABLE participants (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    giveaway_id           INTEGER   NOT NULL CHECK (giveaway_id > 0),
    user_id               INTEGER   NOT NULL CHECK (user_id > 0),
    username              TEXT,
    first_name            TEXT,
    last_name             TEXT,
    participated_at       TIMESTAMP NOT NULL,
    captcha_completed     BOOLEAN   NOT NULL DEFAULT TRUE,
    subscription_verified BOOLEAN   NOT NULL DEFAULT FALSE,
    is_winner             BOOLEAN   NOT NULL DEFAULT FALSE,
    winner_position       INTEGER,
    winner_selected_at    TIMESTAMP,
    disqualified_at       TIMESTAMP,
    message_delivered     BOOLEAN   NOT NULL DEFAULT FALSE,
    delivery_timestamp    TIMESTAMP,
    delivery_attempts     INTEGER   NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX participants_giveaway_user_key ON participants (giveaway_id, user_id);

CREATE INDEX participants_giveaway_id_idx ON participants (giveaway_id, id);

CREATE INDEX participants_user_history_idx ON participants (user_id, participated_at DESC);

CREATE INDEX participants_winners_idx ON participants (giveaway_id, winner_position) WHERE is_winner;

CREATE TABLE users (
    user_id              INTEGER PRIMARY KEY CHECK (user_id > 0),
    captcha_completed    BOOLEAN   NOT NULL DEFAULT FALSE,
    captcha_completed_at TIMESTAMP,
    total_participations INTEGER   NOT NULL DEFAULT 0,
    total_wins           INTEGER   NOT NULL DEFAULT 0 CHECK (total_wins >= 0),
    first_participation  TIMESTAMP
);

CREATE TABLE captcha_challenges (
    user_id           INTEGER PRIMARY KEY CHECK (user_id > 0),
    session_id        TEXT      NOT NULL UNIQUE,
    giveaway_id       INTEGER   NOT NULL,
    username          TEXT,
    first_name        TEXT,
    last_name         TEXT,
    question          TEXT      NOT NULL,
    answer            INTEGER   NOT NULL,
    attempts_used     INTEGER   NOT NULL DEFAULT 0,
    max_attempts      INTEGER   NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    issued_in_window  INTEGER   NOT NULL,
    solved_at         TIMESTAMP
);

CREATE INDEX captcha_challenges_expires_idx ON captcha_challenges (expires_at);

CREATE TABLE draws (
    giveaway_id          INTEGER PRIMARY KEY CHECK (giveaway_id > 0),
    status               TEXT      NOT NULL CHECK (status IN ('committed', 'drawn')),
    server_seed          BLOB      NOT NULL CHECK (length(server_seed) = 32),
    commitment           BLOB      NOT NULL,
    committed_at         TIMESTAMP NOT NULL,
    require_subscription BOOLEAN   NOT NULL DEFAULT FALSE,
    drawn_at             TIMESTAMP,
    record               TEXT
);
