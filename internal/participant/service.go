package participant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// Random is the source of seeds, session ids, questions and a generated
	// log key; crypto/rand when nil.
	Random io.Reader

	// DrawVersion is the protocol new giveaways are committed under:
	// draw.Version (telegive-draw-v1, the default when empty) or
	// draw.VersionV2. A giveaway keeps the version of its commit, whatever
	// this says later.
	DrawVersion string
	// BeaconDelay is the time from a v2 freeze, or redraw request, to its
	// beacon round: whole seconds, at least one period of the chain;
	// draw.DefaultBeaconDelay seconds when 0.
	BeaconDelay time.Duration
	// Beacons gives the drand beacons v2 draws wait for; v2 needs it.
	Beacons BeaconSource
	// Log configures the draw log's checkpoints and witnesses.
	Log LogOptions
	// OnAttestation, when set, hears whether each v2 freeze or redraw
	// request was attested by the witnesses in time.
	OnAttestation func(AttestationEvent)
	// OnRecheck, when set, hears each outcome of the draw-time re-check
	// of a winner, once saved.
	OnRecheck func(RecheckEvent)
	// Logger receives warnings (a draw left unattested, an unavailable
	// beacon); discarded when nil.
	Logger *slog.Logger
}

// AttestationEvent says whether a v2 freeze or redraw request was
// attested, for metrics.
type AttestationEvent struct {
	// Kind is "freeze" or "redraw".
	Kind       string
	GiveawayID int64
	Attested   bool
	// Reason says why not, when not attested.
	Reason string
}

// The outcomes of a RecheckEvent.
const (
	// RecheckPassed: the winner still meets the rules.
	RecheckPassed = "passed"
	// RecheckFailed: the winner broke a rule and is to be disqualified.
	RecheckFailed = "failed"
	// RecheckUnchecked: Telegram (or the giveaway service) could not be
	// asked about the winner this time; they are asked again later.
	RecheckUnchecked = "unchecked"
)

// RecheckEvent is one outcome of the draw-time re-check of a winner, for
// metrics. A winner has one passed or failed outcome, and an unchecked
// one for every pass of checks that could not ask about them.
type RecheckEvent struct {
	GiveawayID int64
	UserID     int64
	// Outcome is RecheckPassed, RecheckFailed or RecheckUnchecked.
	Outcome string
	// Reason is the rule a failed winner broke.
	Reason draw.Reason
}

// Validate reports what is wrong with the options, naming it, so that the
// application refuses to start rather than fail at the first draw.
func (o Options) Validate() error {
	var errs []error
	switch o.DrawVersion {
	case "", draw.Version:
	case draw.VersionV2:
		if o.Beacons == nil {
			errs = append(errs, errors.New("telegive-draw-v2 needs a beacon source"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown draw version %q: want %q or %q", o.DrawVersion, draw.Version, draw.VersionV2))
	}
	if o.BeaconDelay < 0 || o.BeaconDelay%time.Second != 0 {
		errs = append(errs, fmt.Errorf("the beacon delay %v is not a whole number of seconds", o.BeaconDelay))
	}
	if err := newDrawLog(o.Log).err; err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Service carries out the rules of participation, the captcha and draws.
type Service struct {
	store         Store
	giveaways     Giveaways
	subscriptions Subscriptions
	opts          Options
	log           *drawLog
	// lockedRules caches rules fixed by their giveaway's commit, which
	// never change again, sparing registrations a read.
	lockedRules *lockedRulesCache
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
	if opts.DrawVersion == "" {
		opts.DrawVersion = draw.Version
	}
	if opts.BeaconDelay == 0 {
		opts.BeaconDelay = draw.DefaultBeaconDelay * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, giveaways: giveaways, subscriptions: subscriptions, opts: opts, log: newDrawLog(opts.Log),
		lockedRules: &lockedRulesCache{}}
}

// now is the clock at the precision the database keeps, so that a value
// read back equals the value written.
func (s *Service) now() time.Time {
	return s.opts.Now().UTC().Truncate(time.Microsecond)
}

// nowSeconds is the clock in whole seconds, the precision of draw times
// and log entries.
func (s *Service) nowSeconds() time.Time {
	return s.opts.Now().UTC().Truncate(time.Second)
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
