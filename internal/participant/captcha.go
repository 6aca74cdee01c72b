package participant

import (
	"crypto/rand"
	"encoding/hex"
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
