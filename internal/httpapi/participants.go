package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

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
		writeJSON(w, http.StatusOK, struct {
			Success                bool   `json:"success"`
			CaptchaCompleted       bool   `json:"captcha_completed"`
			ParticipationConfirmed bool   `json:"participation_confirmed"`
			ParticipantID          int64  `json:"participant_id"`
			Message                string `json:"message"`
		}{true, true, true, res.ParticipantID, "Captcha solved. You are now participating in the giveaway."})
		return
	}
	type wrong struct {
		Success           bool   `json:"success"`
		CaptchaCompleted  bool   `json:"captcha_completed"`
		AttemptsRemaining int    `json:"attempts_remaining"`
		Message           string `json:"message"`
	}
	if ch := res.NewChallenge; ch != nil {
		writeJSON(w, http.StatusOK, struct {
			Success          bool   `json:"success"`
			CaptchaCompleted bool   `json:"captcha_completed"`
			NewQuestion      string `json:"new_question"`
			challengeJSON
			Message string `json:"message"`
		}{true, false, ch.Question, toChallengeJSON(*ch), "Wrong answer. Here is a new question."})
		return
	}
	writeJSON(w, http.StatusOK, wrong{true, false, res.AttemptsRemaining,
		fmt.Sprintf("Wrong answer. %d attempt(s) left.", res.AttemptsRemaining)})
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
	writeJSON(w, http.StatusOK, struct {
		Success bool `json:"success"`
		userStatsJSON
	}{true, toUserStatsJSON(u)})
}

// handleWinnerStatus serves GET /api/participants/winner-status/{user_id}/{giveaway_id}.
func (s *Server) handleWinnerStatus(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.svc.WinnerStatus(r.Context(), userID, giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var pid *int64
	if st.ParticipantID != 0 {
		pid = &st.ParticipantID
	}
	writeJSON(w, http.StatusOK, struct {
		Success          bool       `json:"success"`
		UserID           int64      `json:"user_id"`
		GiveawayID       int64      `json:"giveaway_id"`
		Participated     bool       `json:"participated"`
		IsWinner         bool       `json:"is_winner"`
		WinnerSelectedAt *time.Time `json:"winner_selected_at"`
		TotalWinners     int        `json:"total_winners"`
		ParticipantID    *int64     `json:"participant_id"`
	}{true, userID, giveawayID, st.Participated, st.IsWinner, st.WinnerSelectedAt, st.TotalWinners, pid})
}

// handleVerifySubscription serves POST /api/participants/verify-subscription.
func (s *Server) handleVerifySubscription(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, accountID := b.id("user_id", true), b.id("account_id", true)
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.svc.VerifySubscription(r.Context(), userID, accountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Success          bool                `json:"success"`
		UserID           int64               `json:"user_id"`
		AccountID        int64               `json:"account_id"`
		IsSubscribed     bool                `json:"is_subscribed"`
		MembershipStatus string              `json:"membership_status"`
		ChannelInfo      participant.Channel `json:"channel_info"`
		VerifiedAt       time.Time           `json:"verified_at"`
	}{true, userID, accountID, sub.Subscribed, sub.Status, sub.Channel, sub.VerifiedAt})
}

// handleUpdateDelivery serves PUT /api/participants/update-delivery-status.
func (s *Server) handleUpdateDelivery(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := participant.DeliveryUpdate{
		ParticipantIDs: b.ids("participant_ids", participant.CodeMissingParticipantIDs),
		Delivered:      b.boolean("delivered", true),
		At:             b.timestamp("delivery_timestamp"),
	}
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.UpdateDelivery(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type failure struct {
		ParticipantID int64  `json:"participant_id"`
		Error         string `json:"error"`
	}
	failed := make([]failure, len(res.Failed))
	for i, f := range res.Failed {
		failed[i] = failure{f.ParticipantID, f.Reason}
	}
	writeJSON(w, http.StatusOK, struct {
		Success       bool      `json:"success"`
		UpdatedCount  int       `json:"updated_count"`
		FailedUpdates []failure `json:"failed_updates"`
	}{true, res.Updated, failed})
}

// handleHistory serves GET /api/participants/history/{user_id}.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v participant.Validation
	limit := queryInt(r, "limit", 0, &v, participant.HistoryLimitRule)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, hs, err := s.svc.History(r.Context(), userID, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type entry struct {
		GiveawayID       int64      `json:"giveaway_id"`
		ParticipatedAt   time.Time  `json:"participated_at"`
		IsWinner         bool       `json:"is_winner"`
		WinnerSelectedAt *time.Time `json:"winner_selected_at"`
	}
	recent := make([]entry, len(hs))
	for i, h := range hs {
		recent[i] = entry{h.GiveawayID, h.ParticipatedAt, h.IsWinner, h.WinnerSelectedAt}
	}
	writeJSON(w, http.StatusOK, struct {
		Success              bool          `json:"success"`
		UserStats            userStatsJSON `json:"user_stats"`
		RecentParticipations []entry       `json:"recent_participations"`
	}{true, toUserStatsJSON(u), recent})
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

func isValidation(err error) bool {
	var e *participant.Error
	return errors.As(err, &e) && len(e.Fields) > 0
}
