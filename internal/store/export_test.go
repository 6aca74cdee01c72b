package store

import "context"

// MigrationLock takes the migration lock as Migrate does and returns its
// release, so that a test can hold it while another store migrates.
func (s *Store) MigrationLock(ctx context.Context) (func(), error) { return s.migrationLock(ctx) }
