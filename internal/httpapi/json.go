package httpapi

import (
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// The JSON shapes of the API, kept apart from the domain types so that a
// domain change cannot silently change what callers receive.

type participantJSON struct {
	ID                   int64      `json:"id"`
	ParticipantID        int64      `json:"participant_id"`
	GiveawayID           int64      `json:"giveaway_id"`
	UserID               int64      `json:"user_id"`
	Username             *string    `json:"username"`
	FirstName            *string    `json:"first_name"`
	LastName             *string    `json:"last_name"`
	ParticipatedAt       time.Time  `json:"participated_at"`
	CaptchaCompleted     bool       `json:"captcha_completed"`
	SubscriptionVerified bool       `json:"subscription_verified"`
	IsWinner             bool       `json:"is_winner"`
	WinnerSelectedAt     *time.Time `json:"winner_selected_at"`
	MessageDelivered     bool       `json:"message_delivered"`
	DeliveryTimestamp    *time.Time `json:"delivery_timestamp"`
	DeliveryAttempts     int        `json:"delivery_attempts"`
}

func toParticipantJSON(p participant.Participant) participantJSON {
	return participantJSON{
		ID:                   p.ID,
		ParticipantID:        p.ID,
		GiveawayID:           p.GiveawayID,
		UserID:               p.UserID,
		Username:             optString(p.Username),
		FirstName:            optString(p.FirstName),
		LastName:             optString(p.LastName),
		ParticipatedAt:       p.ParticipatedAt,
		CaptchaCompleted:     p.CaptchaCompleted,
		SubscriptionVerified: p.SubscriptionVerified,
		IsWinner:             p.IsWinner,
		WinnerSelectedAt:     p.WinnerSelectedAt,
		MessageDelivered:     p.MessageDelivered,
		DeliveryTimestamp:    p.DeliveryTimestamp,
		DeliveryAttempts:     p.DeliveryAttempts,
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type winnerJSON struct {
	Position         int        `json:"position"`
	UserID           int64      `json:"user_id"`
	ParticipantID    int64      `json:"participant_id"`
	Username         *string    `json:"username"`
	FirstName        *string    `json:"first_name"`
	LastName         *string    `json:"last_name"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
}

func toWinnersJSON(ws []participant.Winner) []winnerJSON {
	out := make([]winnerJSON, len(ws))
	for i, w := range ws {
		out[i] = winnerJSON{
			Position:         w.Position,
			UserID:           w.UserID,
			ParticipantID:    w.ID,
			Username:         optString(w.Username),
			FirstName:        optString(w.FirstName),
			LastName:         optString(w.LastName),
			WinnerSelectedAt: w.WinnerSelectedAt,
		}
	}
	return out
}

type userStatsJSON struct {
	UserID              int64      `json:"user_id"`
	CaptchaCompleted    bool       `json:"captcha_completed"`
	CompletedAt         *time.Time `json:"completed_at"`
	TotalParticipations int64      `json:"total_participations"`
	TotalWins           int64      `json:"total_wins"`
	FirstParticipation  *time.Time `json:"first_participation"`
}

func toUserStatsJSON(u participant.User) userStatsJSON {
	return userStatsJSON{
		UserID:              u.UserID,
		CaptchaCompleted:    u.CaptchaCompleted,
		CompletedAt:         u.CaptchaCompletedAt,
		TotalParticipations: u.TotalParticipations,
		TotalWins:           u.TotalWins,
		FirstParticipation:  u.FirstParticipation,
	}
}

type statsJSON struct {
	TotalParticipants                int64 `json:"total_participants"`
	CaptchaCompletedParticipants     int64 `json:"captcha_completed_participants"`
	SubscriptionVerifiedParticipants int64 `json:"subscription_verified_participants"`
	Winners                          int64 `json:"winners"`
	MessagesDelivered                int64 `json:"messages_delivered"`
}

// challengeJSON is a captcha question; the bot reads it both from
// register (captcha_question) and from validate-captcha (new_question).
type challengeJSON struct {
	SessionID         string    `json:"session_id"`
	CaptchaSessionID  string    `json:"captcha_session_id"`
	AttemptsRemaining int       `json:"attempts_remaining"`
	ExpiresAt         time.Time `json:"expires_at"`
}

func toChallengeJSON(c participant.Challenge) challengeJSON {
	return challengeJSON{
		SessionID:         c.SessionID,
		CaptchaSessionID:  c.SessionID,
		AttemptsRemaining: c.AttemptsRemaining(),
		ExpiresAt:         c.ExpiresAt,
	}
}
