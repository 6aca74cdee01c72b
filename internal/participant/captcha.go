package participant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// CaptchaRules configure the global captcha.
type CaptchaRules struct {
	MinNumber   int
	MaxNumber   int
	MaxAttempts int
	Timeout     time.Duration
	// PerHour is how many challenges one user may be issued in an hour.
	PerHour int
}

// challengeWindow is the period PerHour counts over.
const challengeWindow = time.Hour

// question draws an addition, subtraction (with a result of at least 1) or
// multiplication of two numbers in the configured range.
func (r CaptchaRules) question(rnd io.Reader) (string, int64, error) {
	op, err := randInt(rnd, 0, 2)
	if err != nil {
		return "", 0, err
	}
	a, err := randInt(rnd, r.MinNumber, r.MaxNumber)
	if err != nil {
		return "", 0, err
	}
	b, err := randInt(rnd, r.MinNumber, r.MaxNumber)
	if err != nil {
		return "", 0, err
	}
	switch op {
	case 0:
		return fmt.Sprintf("What is %d + %d?", a, b), int64(a + b), nil
	case 1:
		if a == b {
			b = a + 1
			if b > r.MaxNumber {
				a, b = a-1, a
			}
		}
		if a < b {
			a, b = b, a
		}
		return fmt.Sprintf("What is %d - %d?", a, b), int64(a - b), nil
	default:
		return fmt.Sprintf("What is %d × %d?", a, b), int64(a * b), nil
	}
}

// issue returns a fresh challenge for base's user, giveaway and profile,
// counting it against the hourly limit carried over from prev (nil when the
// user has none). It returns TOO_MANY_ATTEMPTS when the limit is reached.
func (r CaptchaRules) issue(rnd io.Reader, prev *Challenge, base Challenge, now time.Time) (Challenge, error) {
	windowStart, issued := now, 0
	if prev != nil && now.Sub(prev.WindowStart) < challengeWindow {
		windowStart, issued = prev.WindowStart, prev.IssuedInWindow
	}
	if issued >= r.PerHour {
		wait := windowStart.Add(challengeWindow).Sub(now)
		return Challenge{}, &Error{
			Code:       CodeTooManyAttempts,
			Message:    fmt.Sprintf("Too many captcha attempts. Please try again in %d minutes.", int(wait.Minutes())+1),
			RetryAfter: wait,
		}
	}
	q, answer, err := r.question(rnd)
	if err != nil {
		return Challenge{}, err
	}
	session, err := randomHex(rnd, 16)
	if err != nil {
		return Challenge{}, err
	}
	return Challenge{
		UserID:         base.UserID,
		SessionID:      session,
		GiveawayID:     base.GiveawayID,
		Profile:        base.Profile,
		ReferrerUserID: base.ReferrerUserID,
		Question:       q,
		Answer:         answer,
		MaxAttempts:    r.MaxAttempts,
		IssuedAt:       now,
		ExpiresAt:      now.Add(r.Timeout),
		WindowStart:    windowStart,
		IssuedInWindow: issued + 1,
	}, nil
}

// live reports whether c can still be answered at now.
func (c Challenge) live(now time.Time) bool {
	return c.SolvedAt == nil && now.Before(c.ExpiresAt) && c.AttemptsRemaining() > 0
}

// carries reports whether c keeps base's referral: always when base has
// none, so that a register call without one never drops the referrer of
// a live challenge.
func (c Challenge) carries(base Challenge) bool {
	return base.ReferrerUserID == 0 || (c.GiveawayID == base.GiveawayID && c.ReferrerUserID == base.ReferrerUserID)
}

// challenge returns the user's live challenge, or issues a fresh one.
// Concurrent calls agree on one challenge: the database keeps one row per
// user. The common cases cost one or two statements: a first challenge is
// a single insert, and a live one is read back; only a renewal, or a live
// challenge taking a new referral, takes the row lock. A live challenge
// keeps its question and attempts when it takes base's giveaway, profile
// and referrer.
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
	if err == nil && prev.live(s.now()) && prev.carries(base) {
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
			case prev.live(now) && prev.carries(base):
				out = prev
				return nil
			case prev.live(now):
				prev.GiveawayID, prev.Profile, prev.ReferrerUserID = base.GiveawayID, base.Profile, base.ReferrerUserID
				out = prev
				return q.UpdateChallenge(ctx, prev)
			}
			renewed := base
			if renewed.ReferrerUserID == 0 && prev.GiveawayID == base.GiveawayID {
				// A renewal for the same giveaway keeps its referrer.
				renewed.ReferrerUserID = prev.ReferrerUserID
			}
			ch, err := s.opts.Captcha.issue(s.opts.Random, &prev, renewed, now)
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
	// Referral is what the challenge's referrer did, when this answer
	// stored the participation with one.
	Referral *Referral
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
	var ch Challenge
	res, solved, err := s.answer(ctx, req, &ch)
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
	gr, err := s.registrationRules(ctx, req.GiveawayID)
	if err != nil {
		return ValidateResult{}, err
	}
	reg := RegisterRequest{
		GiveawayID:   req.GiveawayID,
		UserID:       req.UserID,
		Username:     ch.Profile.Username,
		FirstName:    ch.Profile.FirstName,
		LastName:     ch.Profile.LastName,
		afterCaptcha: true,
	}
	// The referrer was given for the challenge's giveaway only.
	if ch.GiveawayID == req.GiveawayID && ch.ReferrerUserID != req.UserID {
		reg.ReferrerUserID = ch.ReferrerUserID
	}
	e, err := s.enroll(ctx, reg, g, gr, nil, true)
	switch {
	case err != nil:
		return ValidateResult{}, err
	case e.ParticipantID != 0:
		// Joined now, or by a concurrent answer: the same success.
		return ValidateResult{Completed: true, ParticipantID: e.ParticipantID, Referral: e.Referral}, nil
	case e.Drawn:
		return ValidateResult{}, errNotActive()
	case e.Frozen:
		return ValidateResult{}, errFrozen()
	}
	return ValidateResult{}, fmt.Errorf("giveaway %d: user %d solved the captcha but was not enrolled", req.GiveawayID, req.UserID)
}

// answer applies one answer to the user's challenge. Attempts are counted
// in the same transaction that reads them, so concurrent answers cannot
// exceed the maximum; a wrong answer is committed even when the outcome is
// an error for the caller. The challenge answered is copied to into, for
// the profile and referrer it keeps.
func (s *Service) answer(ctx context.Context, req ValidateRequest, into *Challenge) (ValidateResult, bool, error) {
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
		*into = ch
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

func randInt(rnd io.Reader, lo, hi int) (int, error) {
	n, err := rand.Int(rnd, big.NewInt(int64(hi-lo+1)))
	if err != nil {
		return 0, fmt.Errorf("captcha: random number: %w", err)
	}
	return lo + int(n.Int64()), nil
}

func randomHex(rnd io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
