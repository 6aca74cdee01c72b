-- Postgres registers through a function from this migration on; SQLite,
-- whose one connection runs one transaction at a time, registers step by
-- step (internal/store/participants.go, enrollSteps) and needs none. This
-- file keeps the two dialects' versions in step.
SELECT 1;
