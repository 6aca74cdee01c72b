package api

import "time"

// ValidateCaptchaRequest is the body of POST
// /api/participants/validate-captcha. The service also takes answer as a
// string of digits and session_id under the name captcha_session_id.
type ValidateCaptchaRequest struct {
	GiveawayID int64 `json:"giveaway_id"`
	UserID     int64 `json:"user_id"`
	Answer     int64 `json:"answer"`
	// SessionID, when given, must name the live challenge.
	SessionID string `json:"session_id,omitempty"`
}

// CaptchaSolved answers validate-captcha for a right answer: the captcha
// is done for every giveaway and the user takes part in this one.
type CaptchaSolved struct {
	Success                bool   `json:"success"`
	CaptchaCompleted       bool   `json:"captcha_completed"`
	ParticipationConfirmed bool   `json:"participation_confirmed"`
	ParticipantID          int64  `json:"participant_id"`
	Message                string `json:"message"`
	// Referral is what the referrer_user_id given to register did, when
	// this answer completed the registration with one; absent otherwise.
	Referral *Referral `json:"referral,omitempty"`
}

// CaptchaWrong answers validate-captcha for a wrong answer with attempts
// left on the same question.
type CaptchaWrong struct {
	Success           bool   `json:"success"`
	CaptchaCompleted  bool   `json:"captcha_completed"`
	AttemptsRemaining int    `json:"attempts_remaining"`
	Message           string `json:"message"`
}

// CaptchaRenewed answers validate-captcha for a wrong answer that used the
// question's last attempt: here is a new question.
type CaptchaRenewed struct {
	Success          bool   `json:"success"`
	CaptchaCompleted bool   `json:"captcha_completed"`
	NewQuestion      string `json:"new_question"`
	Challenge
	Message string `json:"message"`
}

// CaptchaStatusResponse answers GET
// /api/participants/captcha-status/{user_id}.
type CaptchaStatusResponse struct {
	Success bool `json:"success"`
	UserStats
}

// UserStats is a user's platform-wide record; an unknown user is
// false, 0 and null.
type UserStats struct {
	UserID              int64      `json:"user_id"`
	CaptchaCompleted    bool       `json:"captcha_completed"`
	CompletedAt         *time.Time `json:"completed_at"`
	TotalParticipations int64      `json:"total_participations"`
	TotalWins           int64      `json:"total_wins"`
	FirstParticipation  *time.Time `json:"first_participation"`
}
