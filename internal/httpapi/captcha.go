package httpapi

import (
	"fmt"
	"net/http"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
)

// handleValidateCaptcha serves POST /api/participants/validate-captcha.
func (s *Server) handleValidateCaptcha(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := participant.ValidateRequest{
		GiveawayID: b.id("giveaway_id", true),
		UserID:     b.id("user_id", true),
		SessionID:  b.str("session_id"),
	}
	if req.SessionID == "" {
		req.SessionID = b.str("captcha_session_id")
	}
	if err := b.err(); err != nil {
		s.obs.CaptchaAttempt("invalid_format")
		s.writeError(w, r, err)
		return
	}
	if !s.chargeUser(w, r, "validate", req.UserID) {
		s.obs.CaptchaAttempt("rate_limited")
		return
	}
	answer, ok := b.answer("answer")
	if !ok {
		s.obs.CaptchaAttempt("invalid_format")
		s.writeError(w, r, &participant.Error{
			Code:    participant.CodeInvalidAnswerFormat,
			Message: "Please answer with a number.",
			Fields: []participant.FieldError{{Field: "answer", Code: participant.CodeInvalidAnswerFormat,
				Message: "answer must be an integer"}},
		})
		return
	}
	req.Answer = answer
	res, err := s.svc.ValidateCaptcha(r.Context(), req)
	s.obs.CaptchaAttempt(captchaResult(res, err))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Completed {
		writeJSON(w, http.StatusOK, api.CaptchaSolved{
			Success:                true,
			CaptchaCompleted:       true,
			ParticipationConfirmed: true,
			ParticipantID:          res.ParticipantID,
			Message:                "Captcha solved. You are now participating in the giveaway.",
			Referral:               toReferral(res.Referral),
		})
		return
	}
	if ch := res.NewChallenge; ch != nil {
		writeJSON(w, http.StatusOK, api.CaptchaRenewed{
			Success:     true,
			NewQuestion: ch.Question,
			Challenge:   toChallenge(*ch),
			Message:     "Wrong answer. Here is a new question.",
		})
		return
	}
	writeJSON(w, http.StatusOK, api.CaptchaWrong{
		Success:           true,
		AttemptsRemaining: res.AttemptsRemaining,
		Message:           fmt.Sprintf("Wrong answer. %d attempt(s) left.", res.AttemptsRemaining),
	})
}

// handleCaptchaStatus serves GET /api/participants/captcha-status/{user_id}.
func (s *Server) handleCaptchaStatus(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.svc.CaptchaStatus(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.CaptchaStatusResponse{Success: true, UserStats: toUserStats(u)})
}

// captchaResult names a validate-captcha outcome for metrics. A right
// answer counts as correct even when the registration it triggers is
// refused: the user solved the captcha.
func captchaResult(res participant.ValidateResult, err error) string {
	if err == nil {
		if res.Completed {
			return "correct"
		}
		return "wrong"
	}
	switch participant.ErrorCode(err) {
	case participant.CodeCaptchaExpired:
		return "expired"
	case participant.CodeCaptchaNotFound:
		return "not_found"
	case participant.CodeCaptchaMismatch:
		return "mismatch"
	case participant.CodeTooManyAttempts:
		return "limited"
	case participant.CodeGiveawayNotActive, participant.CodeGiveawayNotFound, participant.CodeNotSubscribed, participant.CodeDuplicate:
		return "correct"
	}
	if isValidation(err) {
		return "invalid_format"
	}
	return "error"
}
