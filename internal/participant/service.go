package participant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// Options configure a Service.
type Options struct {
	Captcha CaptchaRules
	// MaxWinners bounds winner_count in select-winners.
	MaxWinners int
	// RequireSubscription makes registration and eligibility depend on a
	// verified channel subscription.
	RequireSubscription bool
	// ListMaxLimit bounds the page size of participant listings.
	ListMaxLimit int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Random is the source of seeds, session ids and questions;
	// crypto/rand when nil.
	Random io.Reader
}

// Service carries out the rules of participation, the captcha and draws.
type Service struct {
	store         Store
	giveaways     Giveaways
	subscriptions Subscriptions
	opts          Options
}

// NewService returns a Service. giveaways and subscriptions may be nil, which
// switches the giveaway-status and subscription checks off: any giveaway id
// then counts as active until its draw.
func NewService(store Store, giveaways Giveaways, subscriptions Subscriptions, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.ListMaxLimit <= 0 {
		opts.ListMaxLimit = 10000
	}
	if opts.MaxWinners <= 0 {
		opts.MaxWinners = 1000
	}
	return &Service{store: store, giveaways: giveaways, subscriptions: subscriptions, opts: opts}
}

// now is the clock at the precision the database keeps, so that a value
// read back equals the value written.
func (s *Service) now() time.Time {
	return s.opts.Now().UTC().Truncate(time.Microsecond)
}

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

// checkID refuses an id that is not positive with INVALID_ and the field's
// name (CodeInvalidGiveawayID for giveaway_id).
func checkID(v *Validation, field string, id int64) {
	if !ValidID(id) {
		v.Add(field, Code("INVALID_"+strings.ToUpper(field)), "%s must be a positive integer", field)
	}
}

// activeGiveaway checks the giveaway with the giveaway service when one is
// configured; without it every giveaway counts as active.
func (s *Service) activeGiveaway(ctx context.Context, id int64) (Giveaway, error) {
	if s.giveaways == nil {
		return Giveaway{ID: id, Status: "active"}, nil
	}
	g, err := s.giveaways.Giveaway(ctx, id)
	if err != nil {
		return Giveaway{}, err
	}
	if !g.Active() {
		return Giveaway{}, errNotActive()
	}
	return g, nil
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

// freshDraw prepares the commitment a giveaway gets when it first appears.
func (s *Service) freshDraw(giveawayID int64) (Draw, error) {
	seed := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Random, seed); err != nil {
		return Draw{}, fmt.Errorf("draw seed: %w", err)
	}
	return Draw{
		GiveawayID:  giveawayID,
		Status:      DrawCommitted,
		ServerSeed:  seed,
		Commitment:  draw.Commitment(seed),
		CommittedAt: s.now(),
	}, nil
}

// challenge returns the user's live challenge, or issues a fresh one.
// Concurrent calls agree on one challenge: the database keeps one row per
// user. The common cases cost one or two statements: a first challenge is
// a single insert, and a live one is read back; only a renewal takes the
// row lock.
func (s *Service) challenge(ctx context.Context, base Challenge) (Challenge, error) {
	first, err := s.opts.Captcha.issue(s.opts.Random, nil, base, s.now())
	if err != nil {
		return Challenge{}, err
	}
	created, err := s.store.InsertChallenge(ctx, first)
	if err != nil || created {
		return first, err
	}
	prev, err := s.store.Challenge(ctx, base.UserID)
	if err == nil && prev.live(s.now()) {
		return prev, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Challenge{}, err
	}
	for range 3 {
		var (
			out   Challenge
			raced bool
		)
		err := s.store.InTx(ctx, func(q Queries) error {
			raced = false
			now := s.now()
			prev, err := q.ChallengeForUpdate(ctx, base.UserID)
			switch {
			case errors.Is(err, ErrNotFound):
				// Cleaned up meanwhile: start afresh.
				ch, err := s.opts.Captcha.issue(s.opts.Random, nil, base, now)
				if err != nil {
					return err
				}
				ok, err := q.InsertChallenge(ctx, ch)
				if err != nil {
					return err
				}
				raced, out = !ok, ch
				return nil
			case err != nil:
				return err
			case prev.live(now):
				out = prev
				return nil
			}
			ch, err := s.opts.Captcha.issue(s.opts.Random, &prev, base, now)
			if err != nil {
				return err
			}
			out = ch
			return q.UpdateChallenge(ctx, ch)
		})
		if err != nil || !raced {
			return out, err
		}
	}
	return Challenge{}, errors.New("captcha: could not settle a challenge for the user")
}

// ValidateRequest answers the user's captcha.
type ValidateRequest struct {
	GiveawayID int64
	UserID     int64
	Answer     int64
	// SessionID is optional; when given it must name the live challenge.
	SessionID string
}

// ValidateResult is the outcome of an answer.
type ValidateResult struct {
	Completed         bool
	ParticipantID     int64
	AttemptsRemaining int
	// NewChallenge is set when the answer used the last attempt.
	NewChallenge *Challenge
}

// ValidateCaptcha checks an answer. A right answer completes the user's
// captcha for every giveaway and registers them in this one; answering
// again after that returns the same success.
func (s *Service) ValidateCaptcha(ctx context.Context, req ValidateRequest) (ValidateResult, error) {
	var v Validation
	checkID(&v, "giveaway_id", req.GiveawayID)
	checkID(&v, "user_id", req.UserID)
	if err := v.Err(); err != nil {
		return ValidateResult{}, err
	}
	// The answer comes first: a user who passed the captcha keeps a solved
	// challenge until cleanup, and only then needs their record read.
	var profile Profile
	res, solved, err := s.answer(ctx, req, &profile)
	if ErrorCode(err) == CodeCaptchaNotFound {
		st, serr := s.store.RegistrationState(ctx, req.GiveawayID, req.UserID)
		if serr != nil {
			return ValidateResult{}, serr
		}
		if !st.CaptchaCompleted {
			return ValidateResult{}, err
		}
		if st.ParticipantID != 0 {
			return ValidateResult{Completed: true, ParticipantID: st.ParticipantID}, nil
		}
		solved, err = true, nil
	}
	if err != nil || !solved {
		return res, err
	}
	g, err := s.activeGiveaway(ctx, req.GiveawayID)
	if err != nil {
		return ValidateResult{}, err
	}
	e, err := s.enroll(ctx, RegisterRequest{
		GiveawayID: req.GiveawayID,
		UserID:     req.UserID,
		Username:   profile.Username,
		FirstName:  profile.FirstName,
		LastName:   profile.LastName,
	}, g)
	switch {
	case err != nil:
		return ValidateResult{}, err
	case e.ParticipantID != 0:
		// Joined now, or by a concurrent answer: the same success.
		return ValidateResult{Completed: true, ParticipantID: e.ParticipantID}, nil
	case e.Drawn:
		return ValidateResult{}, errNotActive()
	}
	return ValidateResult{}, fmt.Errorf("giveaway %d: user %d solved the captcha but was not enrolled", req.GiveawayID, req.UserID)
}

// answer applies one answer to the user's challenge. Attempts are counted
// in the same transaction that reads them, so concurrent answers cannot
// exceed the maximum; a wrong answer is committed even when the outcome is
// an error for the caller. A solved challenge's profile is copied to
// profile.
func (s *Service) answer(ctx context.Context, req ValidateRequest, profile *Profile) (ValidateResult, bool, error) {
	var (
		res     ValidateResult
		solved  bool
		outcome error
	)
	err := s.store.InTx(ctx, func(q Queries) error {
		res, solved, outcome = ValidateResult{}, false, nil
		now := s.now()
		ch, err := q.ChallengeForUpdate(ctx, req.UserID)
		if errors.Is(err, ErrNotFound) {
			outcome = Errorf(CodeCaptchaNotFound, "No captcha is waiting for this user. Please press Participate again.")
			return nil
		}
		if err != nil {
			return err
		}
		*profile = ch.Profile
		if ch.SolvedAt != nil {
			// A concurrent right answer won; this one shares its success.
			solved = true
			return nil
		}
		if req.SessionID != "" && req.SessionID != ch.SessionID {
			outcome = Errorf(CodeCaptchaMismatch, "This captcha is no longer valid. Please answer the latest question.")
			return nil
		}
		if !now.Before(ch.ExpiresAt) {
			outcome = Errorf(CodeCaptchaExpired, "The captcha has expired. Please press Participate again for a new question.")
			return nil
		}
		if ch.AttemptsRemaining() == 0 {
			// The last attempt was used while no fresh challenge could be
			// issued; try again now that time has passed.
			next, err := s.opts.Captcha.issue(s.opts.Random, &ch, ch, now)
			if outcome = asOutcome(err); outcome != nil || err != nil {
				return unlessOutcome(err)
			}
			res = ValidateResult{AttemptsRemaining: next.AttemptsRemaining(), NewChallenge: &next}
			return q.UpdateChallenge(ctx, next)
		}
		if req.Answer == ch.Answer {
			ch.SolvedAt = &now
			solved = true
			return q.SolveChallenge(ctx, ch, now)
		}
		ch.AttemptsUsed++
		res = ValidateResult{AttemptsRemaining: ch.AttemptsRemaining()}
		if ch.AttemptsRemaining() > 0 {
			return q.UpdateChallenge(ctx, ch)
		}
		next, err := s.opts.Captcha.issue(s.opts.Random, &ch, ch, now)
		if outcome = asOutcome(err); outcome != nil {
			// Keep the used attempt even though no new question is due.
			return q.UpdateChallenge(ctx, ch)
		}
		if err != nil {
			return err
		}
		res = ValidateResult{AttemptsRemaining: next.AttemptsRemaining(), NewChallenge: &next}
		return q.UpdateChallenge(ctx, next)
	})
	if err != nil {
		return ValidateResult{}, false, err
	}
	if outcome != nil {
		return ValidateResult{}, false, outcome
	}
	return res, solved, nil
}

// CaptchaStatus returns the user's platform-wide record; an unknown user is
// a user who has done nothing yet, not an error.
func (s *Service) CaptchaStatus(ctx context.Context, userID int64) (User, error) {
	if !ValidID(userID) {
		return User{}, invalidID("user_id")
	}
	u, err := s.store.User(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{UserID: userID}, nil
	}
	return u, err
}

// WinnerStatus tells whether a user took part in a giveaway and won.
type WinnerStatus struct {
	Participated     bool
	IsWinner         bool
	WinnerSelectedAt *time.Time
	TotalWinners     int
	ParticipantID    int64
}

// WinnerStatus reports a user's standing in a giveaway.
func (s *Service) WinnerStatus(ctx context.Context, userID, giveawayID int64) (WinnerStatus, error) {
	var v Validation
	checkID(&v, "user_id", userID)
	checkID(&v, "giveaway_id", giveawayID)
	if err := v.Err(); err != nil {
		return WinnerStatus{}, err
	}
	var out WinnerStatus
	p, err := s.store.Participant(ctx, giveawayID, userID)
	switch {
	case err == nil:
		out = WinnerStatus{Participated: true, IsWinner: p.IsWinner, WinnerSelectedAt: p.WinnerSelectedAt, ParticipantID: p.ID}
	case !errors.Is(err, ErrNotFound):
		return WinnerStatus{}, err
	}
	d, err := s.store.Draw(ctx, giveawayID)
	switch {
	case err == nil && d.Status == DrawDrawn:
		out.TotalWinners = len(d.Record.CurrentWinners())
		if out.Participated && out.WinnerSelectedAt == nil {
			at := d.Record.DrawnAt
			out.WinnerSelectedAt = &at
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		return WinnerStatus{}, err
	}
	return out, nil
}

// VerifySubscription looks up whether the user is subscribed to the
// account's channel.
func (s *Service) VerifySubscription(ctx context.Context, userID, accountID int64) (Subscription, error) {
	var v Validation
	checkID(&v, "user_id", userID)
	checkID(&v, "account_id", accountID)
	if err := v.Err(); err != nil {
		return Subscription{}, err
	}
	return s.checkSubscription(ctx, userID, accountID)
}

func (s *Service) checkSubscription(ctx context.Context, userID, accountID int64) (Subscription, error) {
	if s.subscriptions == nil {
		return Subscription{}, Errorf(CodeServiceUnavailable, "Subscription checks are not configured on this service.")
	}
	return s.subscriptions.CheckSubscription(ctx, userID, accountID)
}

// MaxDeliveryBatch is the largest delivery update accepted at once.
const MaxDeliveryBatch = 10000

// DeliveryUpdate records whether result messages reached participants.
type DeliveryUpdate struct {
	ParticipantIDs []int64
	Delivered      bool
	At             *time.Time
}

// DeliveryFailure names an id that could not be updated.
type DeliveryFailure struct {
	ParticipantID int64
	Reason        string
}

// DeliveryResult is the outcome of a delivery update.
type DeliveryResult struct {
	Updated int
	Failed  []DeliveryFailure
}

// UpdateDelivery records a delivery attempt for every id in one statement.
// Delivery is monotonic: a failed attempt counts but never un-delivers a
// message that an earlier attempt delivered.
func (s *Service) UpdateDelivery(ctx context.Context, u DeliveryUpdate) (DeliveryResult, error) {
	var v Validation
	switch {
	case len(u.ParticipantIDs) == 0:
		v.Add("participant_ids", CodeMissingParticipantIDs, "participant_ids must list at least one id")
	case len(u.ParticipantIDs) > MaxDeliveryBatch:
		v.Add("participant_ids", CodeTooManyParticipantIDs, "participant_ids may list at most %d ids", MaxDeliveryBatch)
	}
	for _, id := range u.ParticipantIDs {
		if !ValidID(id) {
			v.Add("participant_ids", CodeInvalidParticipantIDs, "participant_ids must be positive integers")
			break
		}
	}
	if err := v.Err(); err != nil {
		return DeliveryResult{}, err
	}
	ids := unique(u.ParticipantIDs)
	at := s.now()
	if u.At != nil {
		at = u.At.UTC().Truncate(time.Microsecond)
	}
	updated, err := s.store.UpdateDelivery(ctx, ids, u.Delivered, at)
	if err != nil {
		return DeliveryResult{}, err
	}
	found := make(map[int64]bool, len(updated))
	for _, id := range updated {
		found[id] = true
	}
	res := DeliveryResult{Updated: len(updated), Failed: []DeliveryFailure{}}
	for _, id := range ids {
		if !found[id] {
			res.Failed = append(res.Failed, DeliveryFailure{ParticipantID: id, Reason: "participant not found"})
		}
	}
	return res, nil
}

func unique(ids []int64) []int64 {
	seen := make(map[int64]struct{}, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// asOutcome returns err when it is an answer for the caller (an *Error)
// rather than a failure of the service.
func asOutcome(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// unlessOutcome returns err unless it is an answer for the caller.
func unlessOutcome(err error) error {
	if asOutcome(err) != nil {
		return nil
	}
	return err
}

func errNotActive() error {
	return Errorf(CodeGiveawayNotActive, "This giveaway is not accepting participants any more.")
}

func errDuplicate(id int64) error {
	return &Error{Code: CodeDuplicate, Message: "You are already participating in this giveaway.", ParticipantID: id}
}

func invalidID(field string) error {
	var v Validation
	checkID(&v, field, 0)
	return v.Err()
}
