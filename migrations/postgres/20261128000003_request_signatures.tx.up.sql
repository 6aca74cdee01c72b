-- Signatures of signed requests already served, so that a replay is refused
-- by every replica (the signing window is short; expired rows are deleted
-- in the background).
CREATE TABLE request_signatures (
    signature  TEXT        PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_signatures_expires_at ON request_signatures (expires_at);
