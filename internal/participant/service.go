package participant

import (
	"context"
	"crypto/rand"
	"io"
	"strings"
	"time"
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

// checkSubscription asks the subscription service; without one configured
// every check is refused as unavailable rather than passed.
func (s *Service) checkSubscription(ctx context.Context, userID, accountID int64) (Subscription, error) {
	if s.subscriptions == nil {
		return Subscription{}, Errorf(CodeServiceUnavailable, "Subscription checks are not configured on this service.")
	}
	return s.subscriptions.CheckSubscription(ctx, userID, accountID)
}

// unique returns ids without repeats, in the order first given.
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

func errNotActive() error {
	return Errorf(CodeGiveawayNotActive, "This giveaway is not accepting participants any more.")
}

func invalidID(field string) error {
	var v Validation
	checkID(&v, field, 0)
	return v.Err()
}
