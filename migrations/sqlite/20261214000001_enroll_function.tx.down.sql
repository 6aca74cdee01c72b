-- Undoes nothing: the up migration changed nothing on SQLite.
SELECT 1;
