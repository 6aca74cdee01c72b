package participant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
)

// CodeRulesLocked refuses a change of a giveaway's rules once its draw is
// committed (by its first registration or an explicit commit): the
// commitment fixed them, so they cannot change unseen. The HTTP layer
// answers 409.
const CodeRulesLocked Code = "RULES_LOCKED"

// Codes of the rules' invalid fields; the error's own code is
// VALIDATION_ERROR.
const (
	CodeInvalidRequiredChats     Code = "INVALID_REQUIRED_CHATS"
	CodeInvalidExcludeAdmins     Code = "INVALID_EXCLUDE_ADMINS"
	CodeInvalidPremiumOnly       Code = "INVALID_PREMIUM_ONLY"
	CodeInvalidMinAccountAgeDays Code = "INVALID_MIN_ACCOUNT_AGE_DAYS"
	CodeInvalidMaxTickets        Code = "INVALID_MAX_TICKETS"
	CodeInvalidReferralBonus     Code = "INVALID_REFERRAL_BONUS"
	CodeInvalidRecheckAtDraw     Code = "INVALID_RECHECK_AT_DRAW"
)

// Bounds of the rules.
const (
	// MaxRequiredChats is how many chats a giveaway may require, as many
	// as Telegram's own giveaways let a client add.
	MaxRequiredChats = 10
	// MaxTicketsCap bounds max_tickets.
	MaxTicketsCap = 100
	// MaxAccountAgeDays bounds min_account_age_days: Telegram accounts are
	// not much older than ten years, and an estimate from the user id
	// cannot tell older ones apart.
	MaxAccountAgeDays = 3650
)

// Rules say who may enter a giveaway and with how many tickets. They are
// fixed before entries open: once the giveaway's draw is committed they
// cannot change.
type Rules struct {
	// RequiredChats are the chats an entrant must be a member of, in the
	// order given; none means the account's channel, as without rules.
	RequiredChats []ChatRef
	// ExcludeAdmins keeps the required chats' administrators and creators
	// from entering or winning.
	ExcludeAdmins bool
	// PremiumOnly admits Telegram Premium users only.
	PremiumOnly bool
	// MinAccountAgeDays is the youngest account admitted, estimated from
	// the user id; 0 is off.
	MinAccountAgeDays int
	// MaxTickets is the most tickets one entrant may hold, 1..MaxTicketsCap.
	MaxTickets int
	// ReferralBonus is the tickets an entrant gains per invited friend who
	// entered, 0..MaxTickets-1, paid up to MaxTickets (see referral.go).
	ReferralBonus int
	// RecheckAtDraw checks each drawn winner of a telegive-draw-v2 draw
	// against the rules again, and replaces those who fail.
	RecheckAtDraw bool
}

// DefaultRules are a giveaway's rules when none were set: the account's
// channel, administrators excluded as in Telegram's giveaways, one ticket
// each, and no re-check at the draw, so that a giveaway whose rules were
// never set draws as it always has. Rules set by a caller re-check the
// winners unless they say otherwise (RulesInput.Rules).
func DefaultRules() Rules {
	return Rules{ExcludeAdmins: true, MaxTickets: 1}
}

// RulesInput is a rules document as a caller sends it: a nil field takes
// its default. Chats are written as getChatMember takes them: a negative
// id in decimal, or a public @username.
type RulesInput struct {
	RequiredChats     []string
	ExcludeAdmins     *bool
	PremiumOnly       *bool
	MinAccountAgeDays *int64
	MaxTickets        *int64
	ReferralBonus     *int64
	RecheckAtDraw     *bool
}

// Rules validates the input and returns the rules it sets. A failure is
// VALIDATION_ERROR listing each bad field with its own code, and its
// message names the first.
func (in RulesInput) Rules() (Rules, error) {
	r := DefaultRules()
	// A giveaway whose owner sets rules wants them to hold at the draw.
	r.RecheckAtDraw = true
	var v Validation
	r.RequiredChats = requiredChats(&v, in.RequiredChats)
	setBool(&r.ExcludeAdmins, in.ExcludeAdmins)
	setBool(&r.PremiumOnly, in.PremiumOnly)
	setBool(&r.RecheckAtDraw, in.RecheckAtDraw)
	r.MinAccountAgeDays = bounded(&v, "min_account_age_days", CodeInvalidMinAccountAgeDays, in.MinAccountAgeDays, 0, MaxAccountAgeDays, r.MinAccountAgeDays)
	r.MaxTickets = bounded(&v, "max_tickets", CodeInvalidMaxTickets, in.MaxTickets, 1, MaxTicketsCap, r.MaxTickets)
	r.ReferralBonus = referralBonus(&v, in.ReferralBonus, r.MaxTickets)
	return r, InvalidRules(v.fields)
}

// InvalidRules is the error for invalid fields of a rules document:
// VALIDATION_ERROR with the fields, its message the first field's; nil
// when there are none.
func InvalidRules(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeValidation, Message: fields[0].Message, Fields: fields}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// bounded is the integer field's value when it lies in [lo, hi], else
// def with the field recorded as invalid; def when absent.
func bounded(v *Validation, field string, code Code, n *int64, lo, hi, def int) int {
	if n == nil {
		return def
	}
	if *n < int64(lo) || *n > int64(hi) {
		v.Add(field, code, "%s must be an integer from %d to %d", field, lo, hi)
		return def
	}
	return int(*n)
}

// referralBonus is the referral_bonus field: 0 to maxTickets-1, since an
// entrant holds their own ticket and at most maxTickets in all, so a larger
// bonus could never be paid in full. A bonus that would take a referrer
// past maxTickets is paid up to it.
func referralBonus(v *Validation, n *int64, maxTickets int) int {
	const field = "referral_bonus"
	if n == nil {
		return 0
	}
	if *n < 0 || *n > int64(maxTickets-1) {
		v.Add(field, CodeInvalidReferralBonus,
			"%s must be an integer from 0 to max_tickets - 1 (%d here): each entrant holds one ticket of their own and at most max_tickets (%d) in all",
			field, maxTickets-1, maxTickets)
		return 0
	}
	return int(*n)
}

// requiredChats parses the chats, refusing more than MaxRequiredChats, a
// bad reference and a chat named twice (Telegram matches usernames
// without regard to case).
func requiredChats(v *Validation, in []string) []ChatRef {
	const field = "required_chats"
	if in == nil {
		return nil
	}
	if len(in) == 0 || len(in) > MaxRequiredChats {
		v.Add(field, CodeInvalidRequiredChats, "%s must list 1 to %d chats (chat ids or public @usernames), or be left out for the account's channel", field, MaxRequiredChats)
		return nil
	}
	out := make([]ChatRef, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, s := range in {
		c, err := ParseChatRef(s)
		if err != nil {
			v.Add(field, CodeInvalidRequiredChats, "%s[%d]: %v", field, i, err)
			return nil
		}
		key := strings.ToLower(c.String())
		if seen[key] {
			v.Add(field, CodeInvalidRequiredChats, "%s[%d]: %s is listed twice", field, i, c)
			return nil
		}
		seen[key] = true
		out = append(out, c)
	}
	return out
}

// rulesDoc is the rules' JSON, the document rules_sha256 hashes. Its
// members are written in RFC 8785 order; JSON canonicalizes them anyway.
type rulesDoc struct {
	ExcludeAdmins     bool     `json:"exclude_admins"`
	MaxTickets        int      `json:"max_tickets"`
	MinAccountAgeDays int      `json:"min_account_age_days"`
	PremiumOnly       bool     `json:"premium_only"`
	RecheckAtDraw     bool     `json:"recheck_at_draw"`
	ReferralBonus     int      `json:"referral_bonus"`
	RequiredChats     []string `json:"required_chats"`
}

// JSON is the rules' RFC 8785 canonical JSON: what GET serves, byte for
// byte, and what rules_sha256 hashes. Chats are strings as getChatMember
// takes them ("-1001234567890", "@channel"), so that no id loses digits
// in a JavaScript number; no chats is [], meaning the account's channel.
func (r Rules) JSON() []byte {
	doc := rulesDoc{
		ExcludeAdmins: r.ExcludeAdmins, MaxTickets: r.MaxTickets, MinAccountAgeDays: r.MinAccountAgeDays,
		PremiumOnly: r.PremiumOnly, RecheckAtDraw: r.RecheckAtDraw, ReferralBonus: r.ReferralBonus,
		RequiredChats: make([]string, len(r.RequiredChats)),
	}
	for i, c := range r.RequiredChats {
		doc.RequiredChats[i] = c.String()
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("participant: rules do not encode: " + err.Error())
	}
	canon, err := jcs.Transform(b)
	if err != nil {
		panic("participant: rules do not canonicalize: " + err.Error())
	}
	return canon
}

// ParseRulesJSON reads rules stored as Rules.JSON wrote them.
func ParseRulesJSON(b []byte) (Rules, error) {
	var doc rulesDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return Rules{}, fmt.Errorf("rules: %w", err)
	}
	r := Rules{ExcludeAdmins: doc.ExcludeAdmins, PremiumOnly: doc.PremiumOnly, MinAccountAgeDays: doc.MinAccountAgeDays,
		MaxTickets: doc.MaxTickets, ReferralBonus: doc.ReferralBonus, RecheckAtDraw: doc.RecheckAtDraw}
	for _, s := range doc.RequiredChats {
		c, err := ParseChatRef(s)
		if err != nil {
			return Rules{}, fmt.Errorf("rules: %w", err)
		}
		r.RequiredChats = append(r.RequiredChats, c)
	}
	return r, nil
}

// GiveawayRules are a giveaway's rules as they are published.
type GiveawayRules struct {
	GiveawayID int64
	Rules      Rules
	// JSON is the document served and hashed: the stored bytes, so that
	// the hash of rules once published never changes.
	JSON []byte
	// SHA256 is the SHA-256 of JSON.
	SHA256 [32]byte
	// Custom is false when no rules were set and the defaults apply.
	Custom bool
	// Locked is true once the giveaway's draw is committed.
	Locked    bool
	LockedAt  *time.Time
	UpdatedAt *time.Time
}

// SHA256Hex is the rules' hash in lowercase hex, as rules_sha256 is
// written.
func (g GiveawayRules) SHA256Hex() string { return hex.EncodeToString(g.SHA256[:]) }

// StoredRules are a giveaway's rules as the store keeps them.
type StoredRules struct {
	// JSON is the rules' canonical JSON; nil when none were set.
	JSON      []byte
	UpdatedAt *time.Time
	// LockedAt is when the giveaway's draw was committed, which fixed the
	// rules; nil before.
	LockedAt *time.Time
}

// giveawayRules publishes the stored rules of a giveaway, the defaults
// when none were set.
func giveawayRules(giveawayID int64, st StoredRules) (GiveawayRules, error) {
	g := GiveawayRules{GiveawayID: giveawayID, Rules: DefaultRules(), Locked: st.LockedAt != nil,
		LockedAt: st.LockedAt, UpdatedAt: st.UpdatedAt}
	if st.JSON != nil {
		r, err := ParseRulesJSON(st.JSON)
		if err != nil {
			return GiveawayRules{}, fmt.Errorf("giveaway %d: stored %w", giveawayID, err)
		}
		g.Rules, g.JSON, g.Custom = r, st.JSON, true
	} else {
		g.JSON = g.Rules.JSON()
	}
	g.SHA256 = sha256.Sum256(g.JSON)
	return g, nil
}

// GiveawayRules returns the giveaway's rules: the defaults when none were
// set.
func (s *Service) GiveawayRules(ctx context.Context, giveawayID int64) (GiveawayRules, error) {
	if !ValidID(giveawayID) {
		return GiveawayRules{}, invalidID("giveaway_id")
	}
	return s.rulesOf(ctx, s.store, giveawayID)
}

func (s *Service) rulesOf(ctx context.Context, q RuleQueries, giveawayID int64) (GiveawayRules, error) {
	st, err := q.Rules(ctx, giveawayID)
	switch {
	case errors.Is(err, ErrNotFound):
		st = StoredRules{}
	case err != nil:
		return GiveawayRules{}, err
	}
	return giveawayRules(giveawayID, st)
}

// SetRules replaces the giveaway's rules with those the input sets (its
// missing fields at their defaults) while the giveaway's draw is not
// committed. Setting the rules they already are is not a change, so a
// retried call succeeds even after the lock; any other change then is
// RULES_LOCKED. The store settles a race with the commit.
func (s *Service) SetRules(ctx context.Context, giveawayID int64, in RulesInput) (GiveawayRules, error) {
	if !ValidID(giveawayID) {
		return GiveawayRules{}, invalidID("giveaway_id")
	}
	r, err := in.Rules()
	if err != nil {
		return GiveawayRules{}, err
	}
	doc := r.JSON()
	var out GiveawayRules
	err = s.store.InTx(ctx, func(q Queries) error {
		saved, err := q.SaveRules(ctx, giveawayID, doc, s.now())
		if err != nil {
			return err
		}
		if out, err = s.rulesOf(ctx, q, giveawayID); err != nil {
			return err
		}
		if !saved && !bytes.Equal(out.JSON, doc) {
			return rulesLocked(out)
		}
		return nil
	})
	return out, err
}

func rulesLocked(g GiveawayRules) error {
	msg := "The giveaway's rules can no longer change: its draw is committed."
	if g.LockedAt != nil {
		msg = "The giveaway's rules can no longer change: its draw was committed at " +
			g.LockedAt.UTC().Format(time.RFC3339) + "."
	}
	return &Error{Code: CodeRulesLocked, Message: msg}
}
