package store

// EnrollBatches reports how many enrolling statements carried more than
// one registration, how many registrations they carried, and how many of
// them failed and were retried one registration at a time.
func (s *Store) EnrollBatches() (statements, registrations, failed int64) {
	if s.enroller == nil {
		return 0, 0, 0
	}
	return s.enroller.batches.Load(), s.enroller.batched.Load(), s.enroller.failed.Load()
}
