-- Each witness's cosignatures by tree size, so that the latest checkpoint
-- cosigned by a quorum of the witnesses is found with one index probe per
-- witness, however many checkpoints the log has.
CREATE INDEX log_cosignatures_witness_size ON log_cosignatures (witness, tree_size);
