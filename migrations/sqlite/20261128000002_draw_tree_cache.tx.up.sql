-- The roots of the entrant tree's 1,024-leaf chunks, saved at the draw, so
-- that an inclusion proof reads one chunk instead of every entrant.
ALTER TABLE draws ADD COLUMN tree_cache BLOB;
