package httpapi

import (
	"net/http"

	"github.com/telegive/participant-service/internal/participant"
)

// handleRegister serves POST /api/participants/register.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := participant.RegisterRequest{
		GiveawayID: b.id("giveaway_id", true),
		UserID:     b.id("user_id", true),
		Username:   b.str("username"),
		FirstName:  b.str("first_name"),
		LastName:   b.str("last_name"),
	}
	if err := b.err(); err != nil {
		s.obs.Registration("invalid")
		s.writeError(w, r, err)
		return
	}
	if !s.chargeUser(w, r, "register", req.UserID) {
		s.obs.Registration("rate_limited")
		return
	}
	res, err := s.svc.Register(r.Context(), req)
	s.obs.Registration(registrationResult(res, err))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ch := res.Challenge; ch != nil {
		writeJSON(w, http.StatusOK, struct {
			Success         bool   `json:"success"`
			RequiresCaptcha bool   `json:"requires_captcha"`
			CaptchaQuestion string `json:"captcha_question"`
			challengeJSON
			Message string `json:"message"`
		}{true, true, ch.Question, toChallengeJSON(*ch), "Please solve the captcha to join the giveaway."})
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Success                bool   `json:"success"`
		RequiresCaptcha        bool   `json:"requires_captcha"`
		ParticipationConfirmed bool   `json:"participation_confirmed"`
		ParticipantID          int64  `json:"participant_id"`
		Message                string `json:"message"`
	}{true, false, true, res.ParticipantID, "You are now participating in the giveaway."})
}

// registrationResult names a register outcome for metrics.
func registrationResult(res participant.RegisterResult, err error) string {
	if err == nil {
		if res.Challenge != nil {
			return "captcha_required"
		}
		return "registered"
	}
	switch participant.ErrorCode(err) {
	case participant.CodeDuplicate:
		return "duplicate"
	case participant.CodeGiveawayNotActive:
		return "not_active"
	case participant.CodeGiveawayNotFound:
		return "not_found"
	case participant.CodeNotSubscribed:
		return "not_subscribed"
	case participant.CodeTooManyAttempts:
		return "captcha_limited"
	case participant.CodeServiceUnavailable, participant.CodeChannelNotFound, participant.CodeBotTokenMissing, participant.CodeTelegramAPI:
		return "unavailable"
	}
	if isValidation(err) {
		return "invalid"
	}
	return "error"
}
