package httpapi

import (
	"net/http"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
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
		IsPremium:  b.optBool("is_premium"),
		// Checked by the domain, which also refuses the user's own id.
		ReferrerUserID: b.id("referrer_user_id", false),
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
		writeJSON(w, http.StatusOK, api.CaptchaRequired{
			Success:         true,
			RequiresCaptcha: true,
			CaptchaQuestion: ch.Question,
			Challenge:       toChallenge(*ch),
			Message:         "Please solve the captcha to join the giveaway.",
		})
		return
	}
	writeJSON(w, http.StatusCreated, api.Registered{
		Success:                true,
		ParticipationConfirmed: true,
		ParticipantID:          res.ParticipantID,
		Message:                "You are now participating in the giveaway.",
		Referral:               toReferral(res.Referral),
	})
}

// toReferral is nil for a registration without a referral.
func toReferral(r *participant.Referral) *api.Referral {
	if r == nil {
		return nil
	}
	return &api.Referral{ReferrerUserID: r.ReferrerUserID, Counted: r.Counted,
		BonusTickets: r.BonusTickets, ReferrerTickets: r.ReferrerTickets}
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
	case participant.CodeAdminExcluded, participant.CodePremiumRequired, participant.CodeAccountTooNew:
		return "ineligible"
	case participant.CodeChatMisconfigured:
		return "unavailable"
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
