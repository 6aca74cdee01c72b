package api

import "time"

// RegisterRequest is the body of POST /api/participants/register: a user
// asks to join a giveaway.
type RegisterRequest struct {
	GiveawayID int64  `json:"giveaway_id"`
	UserID     int64  `json:"user_id"`
	Username   string `json:"username,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	// IsPremium is the is_premium of Telegram's User object; a
	// premium-only giveaway refuses a user without it.
	IsPremium *bool `json:"is_premium,omitempty"`
	// ReferrerUserID is the user who invited this one; not the user. The
	// referral counts once the user's own registration succeeds, and
	// earns the referrer the giveaway's referral_bonus tickets only when
	// the referrer entered the giveaway first (see Referral).
	ReferrerUserID int64 `json:"referrer_user_id,omitempty"`
}

// CaptchaRequired answers register (200) for a user who has never passed
// the captcha: the question to solve first, the same one while it is live.
type CaptchaRequired struct {
	Success         bool   `json:"success"`
	RequiresCaptcha bool   `json:"requires_captcha"`
	CaptchaQuestion string `json:"captcha_question"`
	Challenge
	Message string `json:"message"`
}

// Registered answers register (201): the user now takes part.
type Registered struct {
	Success                bool   `json:"success"`
	RequiresCaptcha        bool   `json:"requires_captcha"`
	ParticipationConfirmed bool   `json:"participation_confirmed"`
	ParticipantID          int64  `json:"participant_id"`
	Message                string `json:"message"`
	// Referral is what the request's referrer_user_id did; absent
	// without one.
	Referral *Referral `json:"referral,omitempty"`
}

// Referral says what a registration's referral did for the referrer. It
// is settled once, with the registration: a retried or repeated
// registration of the same user never counts again.
type Referral struct {
	ReferrerUserID int64 `json:"referrer_user_id"`
	// Counted is true when the referrer was already an entrant of the
	// giveaway, so that the referral is credited to them; a referral
	// that does not count is kept but never earns anything.
	Counted bool `json:"counted"`
	// BonusTickets is the tickets it added to the referrer's: the rules'
	// referral_bonus, fewer when that would pass max_tickets, 0 when not
	// Counted.
	BonusTickets int `json:"bonus_tickets"`
	// ReferrerTickets is the referrer's tickets afterwards; 0 when not
	// Counted.
	ReferrerTickets int64 `json:"referrer_tickets"`
}

// Challenge is the part of a captcha question that register
// (CaptchaRequired) and validate-captcha (CaptchaRenewed) share; the
// question itself is captcha_question in one and new_question in the other.
type Challenge struct {
	SessionID string `json:"session_id"`
	// CaptchaSessionID repeats SessionID under the old service's name.
	CaptchaSessionID  string    `json:"captcha_session_id"`
	AttemptsRemaining int       `json:"attempts_remaining"`
	ExpiresAt         time.Time `json:"expires_at"`
}
