package store

import (
	"time"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/internal/participant"
)

// participantRow is the participants table. It is kept apart from the
// domain type so that a column can change without the API changing.
type participantRow struct {
	bun.BaseModel `bun:"table:participants"`

	ID                   int64     `bun:"id,pk,autoincrement"`
	GiveawayID           int64     `bun:"giveaway_id"`
	UserID               int64     `bun:"user_id"`
	Username             string    `bun:"username,nullzero"`
	FirstName            string    `bun:"first_name,nullzero"`
	LastName             string    `bun:"last_name,nullzero"`
	ParticipatedAt       time.Time `bun:"participated_at"`
	CaptchaCompleted     bool      `bun:"captcha_completed"`
	SubscriptionVerified bool      `bun:"subscription_verified"`
	IsWinner             bool      `bun:"is_winner"`
	WinnerPosition       int       `bun:"winner_position,nullzero"`
	WinnerSelectedAt     time.Time `bun:"winner_selected_at,nullzero"`
	DisqualifiedAt       time.Time `bun:"disqualified_at,nullzero"`
	MessageDelivered     bool      `bun:"message_delivered"`
	DeliveryTimestamp    time.Time `bun:"delivery_timestamp,nullzero"`
	DeliveryAttempts     int       `bun:"delivery_attempts"`
}

func (r participantRow) domain() participant.Participant {
	return participant.Participant{
		ID:                   r.ID,
		GiveawayID:           r.GiveawayID,
		UserID:               r.UserID,
		Username:             r.Username,
		FirstName:            r.FirstName,
		LastName:             r.LastName,
		ParticipatedAt:       r.ParticipatedAt.UTC(),
		CaptchaCompleted:     r.CaptchaCompleted,
		SubscriptionVerified: r.SubscriptionVerified,
		IsWinner:             r.IsWinner,
		WinnerPosition:       r.WinnerPosition,
		WinnerSelectedAt:     optTime(r.WinnerSelectedAt),
		MessageDelivered:     r.MessageDelivered,
		DeliveryTimestamp:    optTime(r.DeliveryTimestamp),
		DeliveryAttempts:     r.DeliveryAttempts,
	}
}

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

type challengeRow struct {
	bun.BaseModel `bun:"table:captcha_challenges"`

	UserID         int64     `bun:"user_id,pk"`
	SessionID      string    `bun:"session_id"`
	GiveawayID     int64     `bun:"giveaway_id"`
	Username       string    `bun:"username,nullzero"`
	FirstName      string    `bun:"first_name,nullzero"`
	LastName       string    `bun:"last_name,nullzero"`
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

type drawRow struct {
	bun.BaseModel `bun:"table:draws"`

	GiveawayID          int64     `bun:"giveaway_id,pk"`
	Status              string    `bun:"status"`
	ServerSeed          []byte    `bun:"server_seed"`
	Commitment          []byte    `bun:"commitment"`
	CommittedAt         time.Time `bun:"committed_at"`
	RequireSubscription bool      `bun:"require_subscription"`
	DrawnAt             time.Time `bun:"drawn_at,nullzero"`
	Record              string    `bun:"record,nullzero"`
	TreeCache           []byte    `bun:"tree_cache"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
