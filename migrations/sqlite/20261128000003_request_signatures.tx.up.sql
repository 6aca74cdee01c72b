-- Signatures of signed requests already served, so that a replay is refused
-- (the signing window is short; expired rows are deleted in the background).
CREATE TABLE request_signatures (
    signature  TEXT      PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX request_signatures_expires_at ON request_signatures (expires_at);
