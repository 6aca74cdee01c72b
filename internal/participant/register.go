package participant

import (
	"context"
	"fmt"
	"sync"
)

// RegisterRequest asks to join a giveaway.
type RegisterRequest struct {
	GiveawayID int64
	UserID     int64
	Username   string
	FirstName  string
	LastName   string
	// IsPremium is the is_premium of Telegram's User object, as the bot
	// sends it; nil when it does not. Only a premium-only giveaway reads
	// it.
	IsPremium *bool
	// ReferrerUserID is the user who invited this one, 0 for none; see
	// referral.go for when the referral counts.
	ReferrerUserID int64

	// afterCaptcha marks the registration that validate-captcha
	// completes, whose premium rule the register call that issued the
	// captcha checked.
	afterCaptcha bool
}

// RegisterResult is either a confirmed participation or a captcha the user
// has to solve first.
type RegisterResult struct {
	ParticipantID int64
	// Challenge is set when the user has never passed the captcha.
	Challenge *Challenge
	// Referral is what the request's referrer_user_id did, when the
	// participation was stored with one.
	Referral *Referral
}

// Register joins a user to a giveaway, or issues the captcha when the user
// has never passed it. A giveaway without rules is checked as it always
// was: without subscription checks the whole decision is one statement in
// the database; with them, the user's state is read first so that only
// users who could join cost a subscription lookup. A giveaway with rules
// is checked against each of them before the captcha, so that a user who
// cannot enter learns why before solving it.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	if err := req.normalize(); err != nil {
		return RegisterResult{}, err
	}
	g, err := s.activeGiveaway(ctx, req.GiveawayID)
	if err != nil {
		return RegisterResult{}, err
	}
	gr, err := s.registrationRules(ctx, req.GiveawayID)
	if err != nil {
		return RegisterResult{}, err
	}
	var checked *verdict
	if s.opts.RequireSubscription || gr.Custom {
		st, err := s.store.RegistrationState(ctx, req.GiveawayID, req.UserID)
		if err != nil {
			return RegisterResult{}, err
		}
		switch {
		case st.Drawn:
			return RegisterResult{}, errNotActive()
		case st.Frozen:
			return RegisterResult{}, errFrozen()
		case st.ParticipantID != 0:
			return RegisterResult{}, errDuplicate(st.ParticipantID)
		}
		if gr.Custom {
			v, err := s.admitByRules(ctx, req, g, gr.Rules)
			if err != nil {
				return RegisterResult{}, err
			}
			checked = &v
		}
		if !st.CaptchaCompleted {
			return s.registerChallenge(ctx, req)
		}
	}
	e, err := s.enroll(ctx, req, g, gr, checked, s.opts.RequireSubscription || gr.Custom)
	if err != nil {
		return RegisterResult{}, err
	}
	// The contract's order: an inactive giveaway, then a duplicate, then
	// the captcha.
	switch {
	case e.Drawn:
		return RegisterResult{}, errNotActive()
	case e.Frozen:
		return RegisterResult{}, errFrozen()
	case e.ParticipantID != 0 && !e.Created:
		return RegisterResult{}, errDuplicate(e.ParticipantID)
	case !e.CaptchaCompleted:
		return s.registerChallenge(ctx, req)
	}
	return RegisterResult{ParticipantID: e.ParticipantID, Referral: e.Referral}, nil
}

func (s *Service) registerChallenge(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	ch, err := s.challenge(ctx, Challenge{
		UserID:     req.UserID,
		GiveawayID: req.GiveawayID,
		Profile:    Profile{Username: req.Username, FirstName: req.FirstName, LastName: req.LastName},
		// Kept for the registration the answer completes.
		ReferrerUserID: req.ReferrerUserID,
	})
	if err != nil {
		return RegisterResult{}, err
	}
	return RegisterResult{Challenge: &ch}, nil
}

func (r *RegisterRequest) normalize() error {
	var v Validation
	checkID(&v, "giveaway_id", r.GiveawayID)
	checkID(&v, "user_id", r.UserID)
	var ok bool
	if r.Username, ok = NormalizeUsername(r.Username); !ok {
		v.Add("username", CodeInvalidUsername, "username must be 5-32 letters, digits or underscores")
	}
	if r.FirstName, ok = NormalizeName(r.FirstName); !ok {
		v.Add("first_name", CodeInvalidFirstName, "first_name must be at most %d characters without control characters", MaxNameLength)
	}
	if r.LastName, ok = NormalizeName(r.LastName); !ok {
		v.Add("last_name", CodeInvalidLastName, "last_name must be at most %d characters without control characters", MaxNameLength)
	}
	switch {
	case r.ReferrerUserID < 0:
		v.Add("referrer_user_id", CodeInvalidReferrerUserID, "referrer_user_id must be a positive integer")
	case r.ReferrerUserID != 0 && r.ReferrerUserID == r.UserID:
		v.Add("referrer_user_id", CodeInvalidReferrerUserID, "referrer_user_id cannot be the user themselves")
	}
	return v.Err()
}

// enroll stores the participation, after the eligibility checks unless
// checked says how they went. The store holds the giveaway's draw row
// shared meanwhile, so a registration either commits before the draw
// freezes the entrants or finds the giveaway closed. A giveaway seen for
// the first time gets its draw commitment first, which fixes its rules.
// Rules read before any commitment may have changed since: a user known
// to have passed the captcha (captchaPassed) commits the draw before
// storing, and is checked against the rules it fixed; one not known to
// have, only when the store finds no draw row.
func (s *Service) enroll(ctx context.Context, req RegisterRequest, g Giveaway, gr GiveawayRules, checked *verdict, captchaPassed bool) (Enrollment, error) {
	verified, err := s.admit(ctx, req, g, gr, checked)
	if err != nil {
		return Enrollment{}, err
	}
	if !gr.Locked && captchaPassed {
		if verified, gr, err = s.fixRules(ctx, req, g, gr, verified); err != nil {
			return Enrollment{}, err
		}
	}
	np := NewParticipant{
		GiveawayID:           req.GiveawayID,
		UserID:               req.UserID,
		Username:             req.Username,
		FirstName:            req.FirstName,
		LastName:             req.LastName,
		SubscriptionVerified: verified,
		At:                   s.now(),
	}
	e, err := s.storeEnrollment(ctx, np, req.ReferrerUserID)
	if err != nil || e.DrawFound || !e.CaptchaCompleted {
		return e, err
	}
	if np.SubscriptionVerified, _, err = s.fixRules(ctx, req, g, gr, verified); err != nil {
		return Enrollment{}, err
	}
	np.At = s.now()
	e, err = s.storeEnrollment(ctx, np, req.ReferrerUserID)
	if err == nil && !e.DrawFound {
		err = fmt.Errorf("giveaway %d: no draw row after creating its commitment", req.GiveawayID)
	}
	return e, err
}

// fixRules commits the giveaway's draw, which fixes its rules, and checks
// the user again when they are not the rules gr the user was admitted by.
func (s *Service) fixRules(ctx context.Context, req RegisterRequest, g Giveaway, gr GiveawayRules, verified bool) (bool, GiveawayRules, error) {
	if _, err := s.CommitDraw(ctx, req.GiveawayID); err != nil {
		return false, gr, err
	}
	fixed, err := s.registrationRules(ctx, req.GiveawayID)
	if err != nil || fixed.SHA256 == gr.SHA256 {
		return verified, fixed, err
	}
	verified, err = s.admit(ctx, req, g, fixed, nil)
	return verified, fixed, err
}

// admit checks the user against the giveaway's rules (or takes checked,
// the verdict of a check already made) and reports whether the user's
// membership of the required chats was verified. Without rules it is the
// subscription check, when subscriptions are required.
func (s *Service) admit(ctx context.Context, req RegisterRequest, g Giveaway, gr GiveawayRules, checked *verdict) (bool, error) {
	if checked != nil {
		return checked.verified, nil
	}
	if gr.Custom {
		v, err := s.admitByRules(ctx, req, g, gr.Rules)
		return v.verified, err
	}
	if !s.opts.RequireSubscription {
		return false, nil
	}
	sub, err := s.checkSubscription(ctx, req.UserID, g.AccountID)
	if err != nil {
		return false, err
	}
	if !sub.Subscribed {
		ch := sub.Channel
		return false, &Error{
			Code:    CodeNotSubscribed,
			Message: "Please subscribe to the channel to take part in this giveaway.",
			Channel: &ch,
		}
	}
	return true, nil
}

// admitByRules checks the rules, stopping at the first that fails, and
// returns the refusal for it.
func (s *Service) admitByRules(ctx context.Context, req RegisterRequest, g Giveaway, r Rules) (verdict, error) {
	v, err := s.checkRules(ctx, g, r, req.UserID, premiumCheck{skip: req.afterCaptcha, isPremium: req.IsPremium}, true)
	if err != nil {
		return verdict{}, err
	}
	return v, v.refusal(r)
}

// errFrozen refuses a registration once a v2 draw froze the entrants.
func errFrozen() error {
	return Errorf(CodeGiveawayNotActive, "Entries to this giveaway are closed: the winners are being drawn.")
}

func errDuplicate(id int64) error {
	return &Error{Code: CodeDuplicate, Message: "You are already participating in this giveaway.", ParticipantID: id}
}

// maxLockedRules bounds the cache of fixed rules: past it the cache starts
// afresh, costing each giveaway one read again.
const maxLockedRules = 10000

// lockedRulesCache holds giveaways' rules once their commit fixed them.
// Fixed rules never change, so every replica may keep its own copy.
type lockedRulesCache struct {
	mu    sync.Mutex
	rules map[int64]GiveawayRules
}

func (c *lockedRulesCache) get(giveawayID int64) (GiveawayRules, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.rules[giveawayID]
	return g, ok
}

func (c *lockedRulesCache) put(g GiveawayRules) {
	if !g.Locked {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules == nil || len(c.rules) >= maxLockedRules {
		c.rules = make(map[int64]GiveawayRules)
	}
	c.rules[g.GiveawayID] = g
}

// registrationRules returns the giveaway's rules for a registration or
// an eligibility check: from the cache once they are fixed.
func (s *Service) registrationRules(ctx context.Context, giveawayID int64) (GiveawayRules, error) {
	if g, ok := s.lockedRules.get(giveawayID); ok {
		return g, nil
	}
	g, err := s.rulesOf(ctx, s.store, giveawayID)
	if err == nil {
		s.lockedRules.put(g)
	}
	return g, err
}
