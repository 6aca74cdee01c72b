package participant

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Codes of a registration that a giveaway's rules refuse. Like
// USER_NOT_SUBSCRIBED (which the rules answer with missing_chats), the
// HTTP layer answers them 403.
const (
	// CodeAdminExcluded: the rules exclude the required chats'
	// administrators and creators, and the user is one.
	CodeAdminExcluded Code = "ADMIN_EXCLUDED"
	// CodePremiumRequired: the giveaway admits Telegram Premium users
	// only, and the request did not say the user has Premium.
	CodePremiumRequired Code = "PREMIUM_REQUIRED"
	// CodeAccountTooNew: the account's estimated age is below the rules'
	// min_account_age_days.
	CodeAccountTooNew Code = "ACCOUNT_TOO_NEW"
)

// CodeChatMisconfigured: a required chat cannot be checked because of
// how it or the bot is set up (Telegram knows no such chat, or the bot is
// not an administrator there). Retrying cannot help until the giveaway's
// owner fixes it, unlike SERVICE_UNAVAILABLE; the answer names the chat.
// The HTTP layer answers 502, as for the account's own channel
// (CHANNEL_NOT_FOUND).
const CodeChatMisconfigured Code = "CHAT_MISCONFIGURED"

// membershipRetryAfter is how long a caller is asked to wait when
// Telegram could not be asked and gave no wait of its own.
const membershipRetryAfter = 5 * time.Second

// RuleFailure is what a refusal by the rules says beyond its code.
type RuleFailure struct {
	// MissingChats are the required chats the user is not a member of
	// (USER_NOT_SUBSCRIBED).
	MissingChats []ChatRef
	// AdminChats are the required chats the user administers
	// (ADMIN_EXCLUDED).
	AdminChats []ChatRef
	// AccountAge is the estimate ACCOUNT_TOO_NEW was decided on, and
	// MinAccountAgeDays the rule.
	AccountAge        *AccountAge
	MinAccountAgeDays int
	// Chat is the chat CHAT_MISCONFIGURED names, and Problem what is
	// wrong with it.
	Chat    *ChatRef
	Problem MembershipFailure
}

// Reason is why a user cannot enter a giveaway now.
type Reason string

// Reasons, in the order Eligibility lists them.
const (
	ReasonWinnersDrawn   Reason = "winners_drawn"
	ReasonClosed         Reason = "closed"
	ReasonAlreadyEntered Reason = "already_entered"
	ReasonAdmin          Reason = "admin"
	ReasonNotSubscribed  Reason = "not_subscribed"
	ReasonNotPremium     Reason = "not_premium"
	ReasonAccountTooNew  Reason = "account_too_new"
)

// Eligibility says whether a user could enter a giveaway now, and if not
// every reason why.
type Eligibility struct {
	GiveawayID int64
	UserID     int64
	Eligible   bool
	Reasons    []Reason
	// ParticipantID is the user's participation, with already_entered,
	// and Tickets the tickets it holds (1 plus referral bonuses).
	ParticipantID int64
	Tickets       int64
	// MissingChats and AdminChats go with not_subscribed and admin.
	MissingChats []ChatRef
	AdminChats   []ChatRef
	// AccountAge is the estimate, when the rules set a minimum age.
	AccountAge        *AccountAge
	MinAccountAgeDays int
	// RequiresCaptcha is true for a user who has never passed the
	// captcha: registering will ask it first. It is no reason.
	RequiresCaptcha bool
	// RulesSHA256 is the hash of the rules the answer applied.
	RulesSHA256 string
}

// verdict is what the rules found about one user.
type verdict struct {
	// verified is true when required chats were checked and the user is
	// in every one of them.
	verified   bool
	missing    []ChatRef
	admin      []ChatRef
	notPremium bool
	// tooNew is set, with age, when the rules set a minimum age.
	tooNew bool
	age    *AccountAge
	// channel is the account's channel when it was the required chat,
	// for USER_NOT_SUBSCRIBED's channel_info.
	channel *Channel
}

// premiumCheck says what a check knows of the user's Premium.
type premiumCheck struct {
	// skip: the premium rule was checked earlier (by the register call
	// that issued the captcha the user has just solved).
	skip bool
	// isPremium is what the bot said, nil when it said nothing.
	isPremium *bool
}

// checkRules applies the giveaway's rules to the user. Checks that need
// nothing from Telegram run first, and stop is true makes a failed one
// return at once, sparing the Telegram calls. A chat whose membership is
// unknown is an error, never a pass or a fail.
func (s *Service) checkRules(ctx context.Context, g Giveaway, r Rules, userID int64, p premiumCheck, stop bool) (verdict, error) {
	var v verdict
	if r.PremiumOnly && !p.skip && (p.isPremium == nil || !*p.isPremium) {
		v.notPremium = true
	}
	if r.MinAccountAgeDays > 0 {
		age := EstimateAccountAge(userID)
		age.Days = age.AgeDays(s.now())
		v.age = &age
		v.tooNew = !age.OldEnough(r.MinAccountAgeDays, s.now())
	}
	if stop && (v.notPremium || v.tooNew) {
		return v, nil
	}
	chats, channel, err := s.requiredChats(ctx, g, r)
	if err != nil || len(chats) == 0 {
		return v, err
	}
	v.channel = channel
	ms, err := s.checkMemberships(ctx, g.AccountID, userID, chats)
	if err != nil {
		return v, err
	}
	for _, m := range ms {
		switch {
		case r.ExcludeAdmins && m.IsAdmin:
			v.admin = append(v.admin, m.Chat)
		case !m.IsMember:
			v.missing = append(v.missing, m.Chat)
		}
	}
	v.verified = len(v.missing) == 0
	return v, nil
}

// requiredChats are the chats the rules require: those they list, or
// else the account's channel when subscriptions are required, as without
// rules; none otherwise.
func (s *Service) requiredChats(ctx context.Context, g Giveaway, r Rules) ([]ChatRef, *Channel, error) {
	if len(r.RequiredChats) > 0 {
		return r.RequiredChats, nil, nil
	}
	if !s.opts.RequireSubscription {
		return nil, nil, nil
	}
	m, err := s.membershipChecker()
	if err != nil {
		return nil, nil, err
	}
	ch, err := m.AccountChannel(ctx, g.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return []ChatRef{ChatByID(ch.ID)}, &ch, nil
}

// membershipChecker is the configured Memberships: the subscription
// checker, when it checks several chats too.
func (s *Service) membershipChecker() (Memberships, error) {
	m, ok := s.subscriptions.(Memberships)
	if !ok {
		return nil, Errorf(CodeServiceUnavailable, "Membership checks are not configured on this service.")
	}
	return m, nil
}

// checkMemberships asks about every chat. A chat whose membership is
// unknown fails the whole check: a misconfigured chat first, as
// CHAT_MISCONFIGURED naming it (or the bot token's own error), else
// Telegram's unavailability as SERVICE_UNAVAILABLE with a Retry-After.
func (s *Service) checkMemberships(ctx context.Context, accountID, userID int64, chats []ChatRef) ([]Membership, error) {
	m, err := s.membershipChecker()
	if err != nil {
		return nil, err
	}
	ms, err := m.CheckMemberships(ctx, accountID, userID, chats)
	if err == nil {
		return ms, nil
	}
	var unavailable *ChatError
	for _, mb := range ms {
		var ce *ChatError
		if !errors.As(mb.Err, &ce) {
			continue
		}
		switch ce.Failure {
		case FailureChatNotFound, FailureBotNotAdmin:
			return nil, chatMisconfigured(ce)
		case FailureBotToken:
			return nil, err
		case FailureUnavailable:
			if unavailable == nil || ce.RetryAfter > unavailable.RetryAfter {
				unavailable = ce
			}
		}
	}
	if unavailable == nil {
		// No chat says why: the call failed as a whole.
		return nil, err
	}
	wait := unavailable.RetryAfter
	if wait <= 0 {
		wait = membershipRetryAfter
	}
	return nil, &Error{Code: CodeServiceUnavailable, RetryAfter: wait, Err: unavailable,
		Message: fmt.Sprintf("Telegram cannot confirm your membership of %s right now. Please try again shortly.", unavailable.Chat)}
}

func chatMisconfigured(ce *ChatError) error {
	chat := ce.Chat
	msg := fmt.Sprintf("This giveaway requires the chat %s, which its bot cannot find. Please tell the giveaway's organiser.", chat)
	if ce.Failure == FailureBotNotAdmin {
		msg = fmt.Sprintf("This giveaway's bot cannot see the members of %s: it must be an administrator there. Please tell the giveaway's organiser.", chat)
	}
	return &Error{Code: CodeChatMisconfigured, Message: msg, Err: ce,
		Rule: &RuleFailure{Chat: &chat, Problem: ce.Failure}}
}

// refusal is the registration error for the verdict's first failed
// rule, nil when it passes: the user's own standing (premium, age) first,
// then the chats, an administrator before a missing membership since
// joining a chat cannot mend it.
func (v verdict) refusal(r Rules) error {
	switch {
	case v.notPremium:
		return Errorf(CodePremiumRequired, "This giveaway is for Telegram Premium users only.")
	case v.tooNew:
		return &Error{Code: CodeAccountTooNew, Message: tooNewMessage(*v.age, r.MinAccountAgeDays),
			Rule: &RuleFailure{AccountAge: v.age, MinAccountAgeDays: r.MinAccountAgeDays}}
	case len(v.admin) > 0:
		return &Error{Code: CodeAdminExcluded, Rule: &RuleFailure{AdminChats: v.admin},
			Message: fmt.Sprintf("Administrators of %s cannot take part in this giveaway.", v.admin[0])}
	case len(v.missing) > 0:
		msg := "Please subscribe to the channel to take part in this giveaway."
		if len(v.missing) > 1 || v.channel == nil {
			msg = fmt.Sprintf("Please join %s to take part in this giveaway.", chatList(v.missing))
		}
		return &Error{Code: CodeNotSubscribed, Message: msg, Channel: v.channel, Rule: &RuleFailure{MissingChats: v.missing}}
	}
	return nil
}

func tooNewMessage(age AccountAge, minDays int) string {
	if !age.Estimated {
		return fmt.Sprintf("This giveaway is for Telegram accounts at least %d days old, and yours is too recent for its age to be estimated.", minDays)
	}
	return fmt.Sprintf("This giveaway is for Telegram accounts at least %d days old; yours is estimated to have been created in %s.",
		minDays, age.CreatedAt.Format("January 2006"))
}

func chatList(chats []ChatRef) string {
	out := ""
	for i, c := range chats {
		switch {
		case i == 0:
		case i == len(chats)-1:
			out += " and "
		default:
			out += ", "
		}
		out += c.String()
	}
	return out
}

// EligibilityRequest asks whether a user could enter a giveaway now.
type EligibilityRequest struct {
	GiveawayID int64
	UserID     int64
	// IsPremium is what the bot knows from Telegram's User object; nil
	// when it did not say, which a premium-only giveaway refuses.
	IsPremium *bool
}

// Eligibility tells whether the user could enter the giveaway now, and
// every reason why not, without registering anything. The giveaway's
// state is read first: a user who cannot enter whatever the rules say
// (the giveaway closed, drawn or entered already) costs no Telegram call.
// Like registration, a chat whose membership is unknown is an error.
func (s *Service) Eligibility(ctx context.Context, req EligibilityRequest) (Eligibility, error) {
	var val Validation
	checkID(&val, "giveaway_id", req.GiveawayID)
	checkID(&val, "user_id", req.UserID)
	if err := val.Err(); err != nil {
		return Eligibility{}, err
	}
	out := Eligibility{GiveawayID: req.GiveawayID, UserID: req.UserID}
	g, err := s.activeGiveaway(ctx, req.GiveawayID)
	switch {
	case ErrorCode(err) == CodeGiveawayNotActive:
		out.Reasons = append(out.Reasons, ReasonClosed)
	case err != nil:
		return Eligibility{}, err
	}
	gr, err := s.registrationRules(ctx, req.GiveawayID)
	if err != nil {
		return Eligibility{}, err
	}
	out.RulesSHA256 = gr.SHA256Hex()
	st, err := s.store.RegistrationState(ctx, req.GiveawayID, req.UserID)
	if err != nil {
		return Eligibility{}, err
	}
	out.RequiresCaptcha = !st.CaptchaCompleted
	switch {
	case st.Drawn:
		out.Reasons = append(out.Reasons, ReasonWinnersDrawn)
	case st.Frozen && len(out.Reasons) == 0:
		out.Reasons = append(out.Reasons, ReasonClosed)
	}
	if st.ParticipantID != 0 {
		out.Reasons = append(out.Reasons, ReasonAlreadyEntered)
		out.ParticipantID = st.ParticipantID
		p, err := s.store.Participant(ctx, req.GiveawayID, req.UserID)
		if err != nil {
			return Eligibility{}, err
		}
		out.Tickets = p.Tickets
	}
	if len(out.Reasons) > 0 {
		return out, nil
	}
	if err := s.eligibilityRules(ctx, g, gr, req, &out); err != nil {
		return Eligibility{}, err
	}
	out.Eligible = len(out.Reasons) == 0
	return out, nil
}

// eligibilityRules adds the reasons the rules give; without rules, the
// subscription check registration makes.
func (s *Service) eligibilityRules(ctx context.Context, g Giveaway, gr GiveawayRules, req EligibilityRequest, out *Eligibility) error {
	if !gr.Custom {
		if !s.opts.RequireSubscription {
			return nil
		}
		sub, err := s.checkSubscription(ctx, req.UserID, g.AccountID)
		if err != nil {
			return err
		}
		if !sub.Subscribed {
			out.Reasons = append(out.Reasons, ReasonNotSubscribed)
			out.MissingChats = []ChatRef{ChatByID(sub.Channel.ID)}
		}
		return nil
	}
	v, err := s.checkRules(ctx, g, gr.Rules, req.UserID, premiumCheck{isPremium: req.IsPremium}, false)
	if err != nil {
		return err
	}
	if len(v.admin) > 0 {
		out.Reasons = append(out.Reasons, ReasonAdmin)
		out.AdminChats = v.admin
	}
	if len(v.missing) > 0 {
		out.Reasons = append(out.Reasons, ReasonNotSubscribed)
		out.MissingChats = v.missing
	}
	if v.notPremium {
		out.Reasons = append(out.Reasons, ReasonNotPremium)
	}
	if v.age != nil {
		out.AccountAge, out.MinAccountAgeDays = v.age, gr.Rules.MinAccountAgeDays
		if v.tooNew {
			out.Reasons = append(out.Reasons, ReasonAccountTooNew)
		}
	}
	return nil
}

// CodeInvalidReferrerUserID refuses a referrer_user_id that is not a
// positive id other than the user's own.
const CodeInvalidReferrerUserID Code = "INVALID_REFERRER_USER_ID"
