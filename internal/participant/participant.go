// Package participant is the domain core of the participant service: who
// takes part in which giveaway, the global captcha that every user passes
// once, and the verifiable winner draw. It knows nothing of HTTP or SQL;
// storage and upstream services are reached through the interfaces below.
package participant

import (
	"context"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// Participant is one user's entry in one giveaway.
type Participant struct {
	ID                   int64
	GiveawayID           int64
	UserID               int64
	Username             string
	FirstName            string
	LastName             string
	ParticipatedAt       time.Time
	CaptchaCompleted     bool
	SubscriptionVerified bool
	IsWinner             bool
	WinnerPosition       int
	WinnerSelectedAt     *time.Time
	MessageDelivered     bool
	DeliveryTimestamp    *time.Time
	DeliveryAttempts     int
}

// Profile is what Telegram tells us about a user.
type Profile struct {
	Username  string
	FirstName string
	LastName  string
}

// NewParticipant is what a registration stores.
type NewParticipant struct {
	GiveawayID           int64
	UserID               int64
	Username             string
	FirstName            string
	LastName             string
	SubscriptionVerified bool
	At                   time.Time
}

// User is a Telegram user's platform-wide record: the global captcha and
// participation totals.
type User struct {
	UserID              int64
	CaptchaCompleted    bool
	CaptchaCompletedAt  *time.Time
	TotalParticipations int64
	TotalWins           int64
	FirstParticipation  *time.Time
}

// Stats counts a giveaway's participants.
type Stats struct {
	Total                int64
	CaptchaCompleted     int64
	SubscriptionVerified int64
	Winners              int64
	MessagesDelivered    int64
}

// HistoryEntry is one giveaway in a user's history.
type HistoryEntry struct {
	GiveawayID       int64
	ParticipatedAt   time.Time
	IsWinner         bool
	WinnerSelectedAt *time.Time
}

// RegistrationState is what registration needs to know before it writes.
type RegistrationState struct {
	ParticipantID    int64 // 0 when the user has not joined the giveaway
	CaptchaCompleted bool
	Drawn            bool
}

// Enrollment is what an attempt to store a participation found.
type Enrollment struct {
	// DrawFound is false for a giveaway without a draw row yet; nothing is
	// stored then, and the caller creates the commitment and retries.
	DrawFound bool
	// Drawn means the draw closed the giveaway; nothing is stored.
	Drawn bool
	// CaptchaCompleted is false for a user who never passed the captcha;
	// nothing is stored.
	CaptchaCompleted bool
	// ParticipantID is the participation, new or existing; 0 when none.
	ParticipantID int64
	// Created is true when this call stored the participation.
	Created bool
}

// Challenge is a captcha question issued to a user. There is at most one per
// user: the captcha is global, and the giveaway it was issued for only
// records where the user started.
type Challenge struct {
	UserID     int64
	SessionID  string
	GiveawayID int64
	// Profile is the user's Telegram profile as given to register, kept so
	// that the registration completed by validate-captcha (whose body has
	// only ids) stores it.
	Profile      Profile
	Question     string
	Answer       int64
	AttemptsUsed int
	MaxAttempts  int
	IssuedAt     time.Time
	ExpiresAt    time.Time
	// WindowStart and IssuedInWindow limit how many challenges a user gets
	// per hour, so that the small answer space cannot be brute-forced.
	WindowStart    time.Time
	IssuedInWindow int
	SolvedAt       *time.Time
}

// AttemptsRemaining is how many answers the challenge still accepts.
func (c Challenge) AttemptsRemaining() int {
	if r := c.MaxAttempts - c.AttemptsUsed; r > 0 {
		return r
	}
	return 0
}

// DrawStatus is the state of a giveaway's draw.
type DrawStatus string

// Draw states.
const (
	DrawCommitted DrawStatus = "committed"
	DrawDrawn     DrawStatus = "drawn"
)

// Draw is a giveaway's draw: its commitment from the first registration
// on, and the full record once winners are selected.
type Draw struct {
	GiveawayID  int64
	Status      DrawStatus
	ServerSeed  []byte
	Commitment  draw.Hash
	CommittedAt time.Time
	// RequireSubscription is the eligibility rule the draw was made with,
	// so that proofs rebuild the same entrant list later.
	RequireSubscription bool
	Record              draw.Record
	// Tree caches the entrant tree's chunk roots, saved at the draw, for
	// cheap inclusion proofs; nil for draws made before it existed.
	Tree *draw.TreeCache
}

// PublicRecord returns what anyone may see of the draw: the full record
// once drawn; before that only the commitment, never the server seed.
func (d Draw) PublicRecord() draw.Record {
	if d.Status == DrawDrawn {
		return d.Record
	}
	return draw.Record{
		Version:     draw.Version,
		Status:      string(DrawCommitted),
		GiveawayID:  d.GiveawayID,
		Commitment:  d.Commitment,
		CommittedAt: d.CommittedAt,
	}
}

// Winner is a selected participant with their position.
type Winner struct {
	Participant
	Position int
}

// LockMode says how a transaction holds a giveaway's draw row.
type LockMode int

// Lock modes. Registrations share the row so that a draw, which takes it
// exclusively, sees every registration that committed before it and none
// after it.
const (
	LockShared LockMode = iota + 1
	LockExclusive
)

// Store is the persistence the domain needs. Implementations settle
// concurrency in the database, never in process memory, because several
// replicas serve the same data.
type Store interface {
	Queries
	// InTx runs fn in one transaction, retrying it when the database reports
	// a serialization failure or deadlock; fn must therefore be safe to run
	// more than once.
	InTx(ctx context.Context, fn func(Queries) error) error
}

// Queries are the reads and writes available in and out of a transaction,
// one interface per noun so that a test can fake only the noun it needs.
// Lookups of a missing row return ErrNotFound.
type Queries interface {
	ParticipantQueries
	UserQueries
	ChallengeQueries
	DrawQueries
	AdminQueries
}

// ParticipantQueries read and write giveaway participations.
type ParticipantQueries interface {
	RegistrationState(ctx context.Context, giveawayID, userID int64) (RegistrationState, error)
	// Enroll stores p when its giveaway's draw is open and the user has
	// passed the captcha, counting the participation, atomically and
	// ordered against the draw (the draw row is held shared); it reports
	// what it found either way.
	Enroll(ctx context.Context, p NewParticipant) (Enrollment, error)
	// InsertParticipant adds p unless the user already takes part; it
	// returns the participant id and whether this call created it.
	InsertParticipant(ctx context.Context, p NewParticipant) (id int64, created bool, err error)
	Participant(ctx context.Context, giveawayID, userID int64) (Participant, error)
	ListParticipants(ctx context.Context, giveawayID int64, offset, limit int) ([]Participant, error)
	// ParticipantsAfter pages through a giveaway by participant id for
	// streaming exports.
	ParticipantsAfter(ctx context.Context, giveawayID, afterID int64, limit int) ([]Participant, error)
	Stats(ctx context.Context, giveawayID int64) (Stats, error)
	Count(ctx context.Context, giveawayID int64) (int64, error)
	History(ctx context.Context, userID int64, limit int) ([]HistoryEntry, error)
	// UpdateDelivery records a delivery attempt for each id in one
	// statement and returns the ids that exist.
	UpdateDelivery(ctx context.Context, ids []int64, delivered bool, at time.Time) ([]int64, error)
}

// UserQueries read and write users' platform-wide records.
type UserQueries interface {
	AddParticipation(ctx context.Context, userID int64, at time.Time) error
	User(ctx context.Context, userID int64) (User, error)
	CompleteCaptcha(ctx context.Context, userID int64, at time.Time) error
	// AddWins adds delta to each user's win total.
	AddWins(ctx context.Context, userIDs []int64, delta int) error
}

// ChallengeQueries read and write captcha challenges.
type ChallengeQueries interface {
	// SolveChallenge saves the solved challenge c and completes its user's
	// captcha.
	SolveChallenge(ctx context.Context, c Challenge, at time.Time) error
	// Challenge returns the user's challenge.
	Challenge(ctx context.Context, userID int64) (Challenge, error)
	// ChallengeForUpdate returns the user's challenge, locked until the
	// transaction ends.
	ChallengeForUpdate(ctx context.Context, userID int64) (Challenge, error)
	// InsertChallenge adds c unless the user already has one, reporting
	// whether it did.
	InsertChallenge(ctx context.Context, c Challenge) (bool, error)
	UpdateChallenge(ctx context.Context, c Challenge) error
}

// DrawQueries read and write draws and the winners they select.
type DrawQueries interface {
	// EnsureDraw returns the giveaway's draw, creating its commitment from
	// fresh when the giveaway is new, and locks the row in the given mode
	// until the transaction ends.
	EnsureDraw(ctx context.Context, giveawayID int64, fresh Draw, lock LockMode) (Draw, error)
	Draw(ctx context.Context, giveawayID int64) (Draw, error)
	SaveDraw(ctx context.Context, d Draw) error
	// EligibleEntrants returns the user ids that may win, ascending.
	EligibleEntrants(ctx context.Context, giveawayID int64, requireSubscription bool) ([]int64, error)
	// EntrantsFrom returns up to limit eligible user ids from the given one
	// on, ascending.
	EntrantsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) ([]int64, error)
	// MarkWinners flags the users as winners at their positions.
	MarkWinners(ctx context.Context, giveawayID int64, picks []draw.Pick, at time.Time) error
	// Disqualify removes the users' winner flags.
	Disqualify(ctx context.Context, giveawayID int64, userIDs []int64, at time.Time) error
	Winners(ctx context.Context, giveawayID int64) ([]Winner, error)
	WinnerCount(ctx context.Context, giveawayID int64) (int64, error)
}

// AdminQueries are the operators' totals and the cleanup of stale
// challenges.
type AdminQueries interface {
	// AdminStats counts everything: challenges unsolved and live at now
	// are pending; those that expired, and whose hourly window ended,
	// before staleBefore are stale.
	AdminStats(ctx context.Context, now, staleBefore time.Time) (AdminStats, error)
	// DeleteStaleChallenges deletes up to limit challenges that expired,
	// and whose hourly window ended, before the time.
	DeleteStaleChallenges(ctx context.Context, before time.Time, limit int) (int, error)
}

// Giveaway is what the giveaway service tells us about a giveaway.
type Giveaway struct {
	ID          int64
	Status      string
	AccountID   int64
	WinnerCount int
	Title       string
}

// Active reports whether the giveaway accepts participants.
func (g Giveaway) Active() bool { return g.Status == "active" }

// Giveaways looks giveaways up in the giveaway service. It returns an *Error
// with CodeGiveawayNotFound or CodeServiceUnavailable on failure.
type Giveaways interface {
	Giveaway(ctx context.Context, id int64) (Giveaway, error)
	// Invalidate forgets any cached copy of the giveaway; the service calls
	// it when a draw closes the giveaway.
	Invalidate(ctx context.Context, id int64)
}

// Channel is the public description of an account's channel.
type Channel struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Username string `json:"username"`
}

// Subscription is the answer of a subscription lookup.
type Subscription struct {
	Subscribed bool
	Status     string
	Channel    Channel
	VerifiedAt time.Time
}

// Subscriptions checks channel membership through the channel and auth
// services and the Telegram Bot API.
type Subscriptions interface {
	CheckSubscription(ctx context.Context, userID, accountID int64) (Subscription, error)
}
