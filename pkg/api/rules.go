package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// RulesRequest is the body of PUT /api/participants/{giveaway_id}/rules.
// It replaces the giveaway's rules: a field left out takes its default.
type RulesRequest struct {
	// RequiredChats are 1 to 10 chats, each a negative chat id in decimal
	// ("-1001234567890") or a public username ("@channel"); left out, the
	// account's channel.
	RequiredChats []string `json:"required_chats,omitempty"`
	// ExcludeAdmins keeps the chats' administrators and creators out;
	// true when left out.
	ExcludeAdmins *bool `json:"exclude_admins,omitempty"`
	// PremiumOnly admits Telegram Premium users only; false when left out.
	PremiumOnly *bool `json:"premium_only,omitempty"`
	// MinAccountAgeDays is the youngest account admitted, 0 (off) to 3650.
	MinAccountAgeDays *int `json:"min_account_age_days,omitempty"`
	// MaxTickets is the most tickets an entrant may hold, 1 (the default)
	// to 100.
	MaxTickets *int `json:"max_tickets,omitempty"`
	// ReferralBonus is the tickets an entrant gains per invited friend
	// (register's referrer_user_id) whose registration succeeded after the
	// entrant's own: 0 (when left out) to MaxTickets-1, paid up to
	// MaxTickets.
	ReferralBonus *int `json:"referral_bonus,omitempty"`
	// RecheckAtDraw checks the drawn winners of a telegive-draw-v2 draw
	// against the rules again and replaces those who fail (see
	// select-winners' recheck); true when left out. A telegive-draw-v1
	// draw does not apply it, and its select-winners answer says so.
	RecheckAtDraw *bool `json:"recheck_at_draw,omitempty"`
}

// Rules are a giveaway's rules as served.
type Rules struct {
	ExcludeAdmins     bool `json:"exclude_admins"`
	MaxTickets        int  `json:"max_tickets"`
	MinAccountAgeDays int  `json:"min_account_age_days"`
	PremiumOnly       bool `json:"premium_only"`
	RecheckAtDraw     bool `json:"recheck_at_draw"`
	ReferralBonus     int  `json:"referral_bonus"`
	// RequiredChats is empty for the account's channel.
	RequiredChats []string `json:"required_chats"`
}

// RulesResponse answers GET and PUT /api/participants/{giveaway_id}/rules.
type RulesResponse struct {
	Success    bool  `json:"success"`
	GiveawayID int64 `json:"giveaway_id"`
	// Rules is the rules' RFC 8785 JSON exactly as served, the bytes
	// RulesSHA256 hashes; Decode reads it.
	Rules json.RawMessage `json:"rules"`
	// RulesSHA256 is the SHA-256 of Rules, lowercase hex.
	RulesSHA256 string `json:"rules_sha256"`
	// Custom is false when no rules were set and the defaults apply.
	Custom bool `json:"custom"`
	// Locked is true once the giveaway's draw is committed: from then on
	// the rules cannot change (409 RULES_LOCKED).
	Locked    bool       `json:"locked"`
	LockedAt  *time.Time `json:"locked_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// Decode checks that Rules hashes to RulesSHA256 and reads it.
func (r RulesResponse) Decode() (Rules, error) {
	sum := sha256.Sum256(r.Rules)
	if got := hex.EncodeToString(sum[:]); got != r.RulesSHA256 {
		return Rules{}, fmt.Errorf("api: the rules hash to %s, not the rules_sha256 %s served with them", got, r.RulesSHA256)
	}
	var rules Rules
	if err := json.Unmarshal(r.Rules, &rules); err != nil {
		return Rules{}, fmt.Errorf("api: rules: %w", err)
	}
	return rules, nil
}
