package api

import "time"

// RuleRefusal is what an answer refused by a giveaway's rules says beyond
// its error_code; ErrorBody carries it inline.
type RuleRefusal struct {
	// MissingChats are the required chats the user is not a member of,
	// with USER_NOT_SUBSCRIBED from a giveaway with rules.
	MissingChats []string `json:"missing_chats,omitempty"`
	// AdminChats are the required chats the user administers, with
	// ADMIN_EXCLUDED.
	AdminChats []string `json:"admin_chats,omitempty"`
	// AccountAge is the estimate ACCOUNT_TOO_NEW was decided on.
	AccountAge *AccountAge `json:"account_age,omitempty"`
	// Chat is the required chat CHAT_MISCONFIGURED names, and ChatProblem
	// what is wrong: "chat_not_found" or "bot_not_admin".
	Chat        string `json:"chat,omitempty"`
	ChatProblem string `json:"chat_problem,omitempty"`
}

// AccountAge is an account's creation date as estimated from its user id
// against the service's table of known ids (docs/account-age.md).
type AccountAge struct {
	// Estimated is false for an id newer than the table's last row, whose
	// age cannot be estimated: it never meets a minimum age.
	Estimated bool `json:"estimated"`
	// EstimatedCreatedAt is the estimate; null when not Estimated.
	EstimatedCreatedAt *time.Time `json:"estimated_created_at"`
	// EstimatedAgeDays is the estimate's age in whole days; 0 when not
	// Estimated.
	EstimatedAgeDays int `json:"estimated_age_days"`
	// CreatedAfter and CreatedBefore bound the creation date: the
	// estimate's uncertainty. Null when unbounded.
	CreatedAfter  *time.Time `json:"created_after"`
	CreatedBefore *time.Time `json:"created_before"`
	// MinAccountAgeDays is the giveaway's rule.
	MinAccountAgeDays int `json:"min_account_age_days"`
}

// Reasons an eligibility answer lists.
const (
	ReasonWinnersDrawn   = "winners_drawn"
	ReasonClosed         = "closed"
	ReasonAlreadyEntered = "already_entered"
	ReasonAdmin          = "admin"
	ReasonNotSubscribed  = "not_subscribed"
	ReasonNotPremium     = "not_premium"
	ReasonAccountTooNew  = "account_too_new"
)

// Eligibility answers GET /api/participants/{giveaway_id}/eligibility/{user_id}:
// whether the user could enter the giveaway now, and every reason why not.
type Eligibility struct {
	Success    bool  `json:"success"`
	GiveawayID int64 `json:"giveaway_id"`
	UserID     int64 `json:"user_id"`
	Eligible   bool  `json:"eligible"`
	// Reasons are empty when Eligible; else among winners_drawn, closed
	// (not active, or entries frozen for the draw), already_entered,
	// admin, not_subscribed, not_premium, account_too_new.
	Reasons []string `json:"reasons"`
	// ParticipantID is the user's participation, with already_entered.
	ParticipantID int64 `json:"participant_id,omitempty"`
	// Tickets is the tickets the user holds, with already_entered: 1
	// plus the referral bonuses earned so far.
	Tickets int64 `json:"tickets,omitempty"`
	// MissingChats go with not_subscribed, AdminChats with admin.
	MissingChats []string `json:"missing_chats,omitempty"`
	AdminChats   []string `json:"admin_chats,omitempty"`
	// AccountAge is set when the rules set a minimum age.
	AccountAge *AccountAge `json:"account_age,omitempty"`
	// RequiresCaptcha: registering will ask the captcha first. It is no
	// reason of ineligibility.
	RequiresCaptcha bool `json:"requires_captcha"`
	// RulesSHA256 is the hash of the rules applied, as GET .../rules
	// serves it.
	RulesSHA256 string `json:"rules_sha256"`
}
