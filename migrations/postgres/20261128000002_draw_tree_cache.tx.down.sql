ALTER TABLE draws DROP COLUMN tree_cache;
