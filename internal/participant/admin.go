package participant

import (
	"context"
	"time"
)

// AdminStats are platform-wide totals for operators.
type AdminStats struct {
	Participants      int64
	Users             int64
	CaptchaCompleted  int64
	Giveaways         int64
	Drawn             int64
	PendingChallenges int64
	StaleChallenges   int64
}

// AdminStats counts everything. It scans tables, so it is for operators,
// never for health checks.
func (s *Service) AdminStats(ctx context.Context) (AdminStats, error) {
	return s.store.AdminStats(ctx, s.now(), s.staleBefore())
}

// cleanupBatch is how many challenges one statement deletes, so cleanup
// never holds many locks or a long transaction.
const cleanupBatch = 1000

// maxCleanupBatches bounds one cleanup run; the next run continues.
const maxCleanupBatches = 100

// staleBefore is the cut-off for deleting a challenge: it expired, and the
// hourly challenge limit it carries no longer counts, over an hour ago.
func (s *Service) staleBefore() time.Time {
	return s.now().Add(-challengeWindow)
}

// Cleanup deletes stale captcha challenges in bounded batches and returns
// how many went. Replicas may run it at once: each batch skips rows another
// is deleting.
func (s *Service) Cleanup(ctx context.Context) (int, error) {
	total := 0
	before := s.staleBefore()
	for range maxCleanupBatches {
		n, err := s.store.DeleteStaleChallenges(ctx, before, cleanupBatch)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
	return total, nil
}
