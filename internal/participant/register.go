package participant

import (
	"context"
	"fmt"
)

// RegisterRequest asks to join a giveaway.
type RegisterRequest struct {
	GiveawayID int64
	UserID     int64
	Username   string
	FirstName  string
	LastName   string
}

// RegisterResult is either a confirmed participation or a captcha the user
// has to solve first.
type RegisterResult struct {
	ParticipantID int64
	// Challenge is set when the user has never passed the captcha.
	Challenge *Challenge
}

// Register joins a user to a giveaway, or issues the captcha when the user
// has never passed it. Without subscription checks the whole decision is
// one statement in the database; with them, the user's state is read
// first so that only users who could join cost a subscription lookup.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	if err := req.normalize(); err != nil {
		return RegisterResult{}, err
	}
	g, err := s.activeGiveaway(ctx, req.GiveawayID)
	if err != nil {
		return RegisterResult{}, err
	}
	if s.opts.RequireSubscription {
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
		case !st.CaptchaCompleted:
			return s.registerChallenge(ctx, req)
		}
	}
	e, err := s.enroll(ctx, req, g)
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
	return RegisterResult{ParticipantID: e.ParticipantID}, nil
}

func (s *Service) registerChallenge(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	ch, err := s.challenge(ctx, Challenge{
		UserID:     req.UserID,
		GiveawayID: req.GiveawayID,
		Profile:    Profile{Username: req.Username, FirstName: req.FirstName, LastName: req.LastName},
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
	return v.Err()
}

// enroll stores the participation, after the subscription check when one
// is required. The store holds the giveaway's draw row shared meanwhile, so
// a registration either commits before the draw freezes the entrants or
// finds the giveaway closed. A giveaway seen for the first time gets its
// draw commitment first.
func (s *Service) enroll(ctx context.Context, req RegisterRequest, g Giveaway) (Enrollment, error) {
	verified := false
	if s.opts.RequireSubscription {
		sub, err := s.checkSubscription(ctx, req.UserID, g.AccountID)
		if err != nil {
			return Enrollment{}, err
		}
		if !sub.Subscribed {
			ch := sub.Channel
			return Enrollment{}, &Error{
				Code:    CodeNotSubscribed,
				Message: "Please subscribe to the channel to take part in this giveaway.",
				Channel: &ch,
			}
		}
		verified = true
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
	e, err := s.store.Enroll(ctx, np)
	if err != nil || e.DrawFound || !e.CaptchaCompleted {
		return e, err
	}
	if _, err := s.CommitDraw(ctx, req.GiveawayID); err != nil {
		return Enrollment{}, err
	}
	np.At = s.now()
	e, err = s.store.Enroll(ctx, np)
	if err == nil && !e.DrawFound {
		err = fmt.Errorf("giveaway %d: no draw row after creating its commitment", req.GiveawayID)
	}
	return e, err
}

// errFrozen refuses a registration once a v2 draw froze the entrants.
func errFrozen() error {
	return Errorf(CodeGiveawayNotActive, "Entries to this giveaway are closed: the winners are being drawn.")
}

func errDuplicate(id int64) error {
	return &Error{Code: CodeDuplicate, Message: "You are already participating in this giveaway.", ParticipantID: id}
}
