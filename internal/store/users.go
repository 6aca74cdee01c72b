package store

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/internal/participant"
)

var _ participant.UserQueries = queries{}

// userRow is the users table.
type userRow struct {
	bun.BaseModel `bun:"table:users"`

	UserID              int64     `bun:"user_id,pk"`
	CaptchaCompleted    bool      `bun:"captcha_completed"`
	CaptchaCompletedAt  time.Time `bun:"captcha_completed_at,nullzero"`
	TotalParticipations int64     `bun:"total_participations"`
	TotalWins           int64     `bun:"total_wins"`
	FirstParticipation  time.Time `bun:"first_participation,nullzero"`
}

func (r userRow) domain() participant.User {
	return participant.User{
		UserID:              r.UserID,
		CaptchaCompleted:    r.CaptchaCompleted,
		CaptchaCompletedAt:  optTime(r.CaptchaCompletedAt),
		TotalParticipations: r.TotalParticipations,
		TotalWins:           r.TotalWins,
		FirstParticipation:  optTime(r.FirstParticipation),
	}
}

func (q queries) User(ctx context.Context, userID int64) (participant.User, error) {
	var row userRow
	if err := q.db.NewSelect().Model(&row).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return participant.User{}, notFound(err)
	}
	return row.domain(), nil
}

func (q queries) AddParticipation(ctx context.Context, userID int64, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO users (user_id, total_participations, first_participation) VALUES (?, 1, ?)
		ON CONFLICT (user_id) DO UPDATE SET
			total_participations = users.total_participations + 1,
			first_participation = COALESCE(users.first_participation, excluded.first_participation)`,
		userID, at)
	if err != nil {
		return wrap("count participation", err)
	}
	return nil
}

func (q queries) CompleteCaptcha(ctx context.Context, userID int64, at time.Time) error {
	// The WHERE keeps the first completion time when two answers race.
	_, err := q.db.ExecContext(ctx, `INSERT INTO users (user_id, captcha_completed, captcha_completed_at) VALUES (?, TRUE, ?)
		ON CONFLICT (user_id) DO UPDATE SET captcha_completed = TRUE, captcha_completed_at = excluded.captcha_completed_at
		WHERE NOT users.captcha_completed`,
		userID, at)
	if err != nil {
		return wrap("complete captcha", err)
	}
	return nil
}

func (q queries) AddWins(ctx context.Context, userIDs []int64, delta int) error {
	if len(userIDs) == 0 {
		return nil
	}
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	if q.postgres {
		// Lock the rows in id order first: two draws sharing winners would
		// otherwise lock them in different orders and deadlock.
		if _, err := q.db.ExecContext(ctx, "SELECT 1 FROM users WHERE user_id IN (?) ORDER BY user_id FOR UPDATE", bun.List(ids)); err != nil {
			return wrap("lock users", err)
		}
	}
	_, err := q.db.ExecContext(ctx, "UPDATE users SET total_wins = total_wins + ? WHERE user_id IN (?)", delta, bun.List(ids))
	if err != nil {
		return wrap("count wins", err)
	}
	return nil
}
