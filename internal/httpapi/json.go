package httpapi

import (
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
)

// The JSON bodies are the types of pkg/api, kept apart from the domain
// types so that a domain change cannot silently change what callers
// receive; these functions turn the one into the other.

func toParticipant(p participant.Participant) api.Participant {
	return api.Participant{
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
		Tickets:              p.Tickets,
		ReferrerUserID:       optID(p.ReferrerUserID),
	}
}

// optID is nil for the id 0, meaning none.
func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toWinners is never nil, so that no winners is [] rather than null.
func toWinners(ws []participant.Winner) []api.Winner {
	out := make([]api.Winner, len(ws))
	for i, w := range ws {
		out[i] = api.Winner{
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

func toUserStats(u participant.User) api.UserStats {
	return api.UserStats{
		UserID:              u.UserID,
		CaptchaCompleted:    u.CaptchaCompleted,
		CompletedAt:         u.CaptchaCompletedAt,
		TotalParticipations: u.TotalParticipations,
		TotalWins:           u.TotalWins,
		FirstParticipation:  u.FirstParticipation,
	}
}

func toChallenge(c participant.Challenge) api.Challenge {
	return api.Challenge{
		SessionID:         c.SessionID,
		CaptchaSessionID:  c.SessionID,
		AttemptsRemaining: c.AttemptsRemaining(),
		ExpiresAt:         c.ExpiresAt,
	}
}

// toChecks keeps a nil map nil and an empty one empty: they are written
// differently.
func toChecks(rs map[string]health.Result) map[string]api.CheckResult {
	if rs == nil {
		return nil
	}
	out := make(map[string]api.CheckResult, len(rs))
	for name, r := range rs {
		out[name] = api.CheckResult{Status: r.Status, LatencyMS: r.LatencyMS, Error: r.Error, Details: r.Details}
	}
	return out
}

// toFieldErrors keeps no field errors nil, which the error body omits.
func toFieldErrors(fs []participant.FieldError) []api.FieldError {
	if len(fs) == 0 {
		return nil
	}
	out := make([]api.FieldError, len(fs))
	for i, f := range fs {
		out[i] = api.FieldError{Field: f.Field, Message: f.Message, Code: string(f.Code)}
	}
	return out
}
