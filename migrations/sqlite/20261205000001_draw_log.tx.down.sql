DROP TABLE IF EXISTS log_signing_key;
DROP TABLE IF EXISTS log_witnesses;
DROP TABLE IF EXISTS log_cosignatures;
DROP TABLE IF EXISTS log_checkpoints;
DROP TABLE IF EXISTS log_head;
DROP TABLE IF EXISTS log_nodes;
DROP TABLE IF EXISTS log_entries;
