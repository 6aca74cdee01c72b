package store

import (
	"context"
	"testing"
)

// PretendReplicaFresh makes the measurements say a replica is fresh as of
// now, up to the primary's current WAL position, as when the measured one
// is and the one a read lands on is not.
func (s *Store) PretendReplicaFresh(tb testing.TB, ctx context.Context) {
	tb.Helper()
	var lsn int64
	if err := s.db.QueryRowContext(ctx, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").Scan(&lsn); err != nil {
		tb.Fatal(err)
	}
	r := s.replica
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.up, r.err, r.freshAsOf, r.checkedAt = true, nil, now, now
	r.samples = []walSample{{at: now, lsn: lsn}}
}
