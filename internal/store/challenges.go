package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/internal/participant"
)

var _ participant.ChallengeQueries = queries{}

// challengeRow is the captcha_challenges table.
type challengeRow struct {
	bun.BaseModel `bun:"table:captcha_challenges"`

	UserID         int64     `bun:"user_id,pk"`
	SessionID      string    `bun:"session_id"`
	GiveawayID     int64     `bun:"giveaway_id"`
	Username       string    `bun:"username,nullzero"`
	FirstName      string    `bun:"first_name,nullzero"`
	LastName       string    `bun:"last_name,nullzero"`
	ReferrerUserID int64     `bun:"referrer_user_id,nullzero"`
	Question       string    `bun:"question"`
	Answer         int64     `bun:"answer"`
	AttemptsUsed   int       `bun:"attempts_used"`
	MaxAttempts    int       `bun:"max_attempts"`
	IssuedAt       time.Time `bun:"issued_at"`
	ExpiresAt      time.Time `bun:"expires_at"`
	WindowStart    time.Time `bun:"window_started_at"`
	IssuedInWindow int       `bun:"issued_in_window"`
	SolvedAt       time.Time `bun:"solved_at,nullzero"`
}

func challengeFrom(c participant.Challenge) challengeRow {
	r := challengeRow{
		UserID:         c.UserID,
		SessionID:      c.SessionID,
		GiveawayID:     c.GiveawayID,
		Username:       c.Profile.Username,
		FirstName:      c.Profile.FirstName,
		LastName:       c.Profile.LastName,
		ReferrerUserID: c.ReferrerUserID,
		Question:       c.Question,
		Answer:         c.Answer,
		AttemptsUsed:   c.AttemptsUsed,
		MaxAttempts:    c.MaxAttempts,
		IssuedAt:       c.IssuedAt,
		ExpiresAt:      c.ExpiresAt,
		WindowStart:    c.WindowStart,
		IssuedInWindow: c.IssuedInWindow,
	}
	if c.SolvedAt != nil {
		r.SolvedAt = *c.SolvedAt
	}
	return r
}

func (r challengeRow) domain() participant.Challenge {
	return participant.Challenge{
		UserID:         r.UserID,
		SessionID:      r.SessionID,
		GiveawayID:     r.GiveawayID,
		Profile:        participant.Profile{Username: r.Username, FirstName: r.FirstName, LastName: r.LastName},
		ReferrerUserID: r.ReferrerUserID,
		Question:       r.Question,
		Answer:         r.Answer,
		AttemptsUsed:   r.AttemptsUsed,
		MaxAttempts:    r.MaxAttempts,
		IssuedAt:       r.IssuedAt.UTC(),
		ExpiresAt:      r.ExpiresAt.UTC(),
		WindowStart:    r.WindowStart.UTC(),
		IssuedInWindow: r.IssuedInWindow,
		SolvedAt:       optTime(r.SolvedAt),
	}
}

func (q queries) Challenge(ctx context.Context, userID int64) (participant.Challenge, error) {
	var row challengeRow
	if err := q.db.NewRaw("SELECT * FROM captcha_challenges WHERE user_id = ?", userID).Scan(ctx, &row); err != nil {
		return participant.Challenge{}, notFound(err)
	}
	return row.domain(), nil
}

// solveSQL marks a challenge solved and completes the user's captcha in one
// round trip on Postgres; the WHERE keeps the first completion time when
// two answers race.
const solveSQL = `WITH c AS (
	UPDATE captcha_challenges SET solved_at = ?, attempts_used = ? WHERE user_id = ? RETURNING user_id
)
INSERT INTO users (user_id, captcha_completed, captcha_completed_at) SELECT user_id, TRUE, ? FROM c
ON CONFLICT (user_id) DO UPDATE SET captcha_completed = TRUE, captcha_completed_at = excluded.captcha_completed_at
WHERE NOT users.captcha_completed`

func (q queries) SolveChallenge(ctx context.Context, c participant.Challenge, at time.Time) error {
	if !q.postgres {
		if err := q.UpdateChallenge(ctx, c); err != nil {
			return err
		}
		return q.CompleteCaptcha(ctx, c.UserID, at)
	}
	if _, err := q.db.ExecContext(ctx, solveSQL, at, c.AttemptsUsed, c.UserID, at); err != nil {
		return wrap("solve captcha", err)
	}
	return nil
}

func (q queries) ChallengeForUpdate(ctx context.Context, userID int64) (participant.Challenge, error) {
	var row challengeRow
	err := q.db.NewRaw("SELECT * FROM captcha_challenges WHERE user_id = ?"+q.lockClause(participant.LockExclusive), userID).
		Scan(ctx, &row)
	if err != nil {
		return participant.Challenge{}, notFound(err)
	}
	return row.domain(), nil
}

func (q queries) InsertChallenge(ctx context.Context, c participant.Challenge) (bool, error) {
	row := challengeFrom(c)
	res, err := q.db.NewInsert().Model(&row).On("CONFLICT (user_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, wrap("insert captcha challenge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("insert captcha challenge", err)
	}
	return n == 1, nil
}

func (q queries) UpdateChallenge(ctx context.Context, c participant.Challenge) error {
	row := challengeFrom(c)
	res, err := q.db.NewUpdate().Model(&row).WherePK().Exec(ctx)
	if err != nil {
		return wrap("update captcha challenge", err)
	}
	return expectRows(res, 1, "update captcha challenge")
}
