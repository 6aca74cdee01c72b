package store

import (
	"context"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

var _ participant.AdminQueries = queries{}

func (q queries) AdminStats(ctx context.Context, now, staleBefore time.Time) (participant.AdminStats, error) {
	var s participant.AdminStats
	err := q.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM participants),
		(SELECT COUNT(*) FROM users),
		(SELECT COUNT(*) FROM users WHERE captcha_completed),
		(SELECT COUNT(*) FROM draws),
		(SELECT COUNT(*) FROM draws WHERE status = 'drawn'),
		(SELECT COUNT(*) FROM captcha_challenges WHERE solved_at IS NULL AND expires_at >= ?),
		(SELECT COUNT(*) FROM captcha_challenges WHERE expires_at < ? AND window_started_at < ?)`,
		now, staleBefore, staleBefore).
		Scan(&s.Participants, &s.Users, &s.CaptchaCompleted, &s.Giveaways, &s.Drawn, &s.PendingChallenges, &s.StaleChallenges)
	if err != nil {
		return participant.AdminStats{}, wrap("admin stats", err)
	}
	return s, nil
}

func (q queries) DeleteStaleChallenges(ctx context.Context, before time.Time, limit int) (int, error) {
	// SKIP LOCKED lets replicas clean at the same time without waiting on
	// each other or on a user answering.
	skip := ""
	if q.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM captcha_challenges WHERE user_id IN (
		SELECT user_id FROM captcha_challenges WHERE expires_at < ? AND window_started_at < ? LIMIT ?`+skip+`)`,
		before, before, limit)
	if err != nil {
		return 0, wrap("delete stale challenges", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
