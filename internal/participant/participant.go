// Package participant is the domain core of the participant service: who
// takes part in which giveaway, the global captcha that every user passes
// once, and the verifiable winner draw. It knows nothing of HTTP or SQL;
// storage and upstream services are reached through the interfaces below.
package participant

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
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
	// Tickets is how many tickets the entrant holds in the draw: 1, plus
	// the referral bonuses earned, up to the rules' max_tickets.
	Tickets int64
	// ReferrerUserID is the user who invited this one, 0 for none, and
	// ReferralTickets the bonus tickets this entry gave them.
	ReferrerUserID  int64
	ReferralTickets int
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
	// Tickets is the sum of the participants' tickets.
	Tickets int64
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
	// Frozen means a v2 draw closed the giveaway and waits for its beacon.
	Frozen bool
}

// Enrollment is what an attempt to store a participation found.
type Enrollment struct {
	// DrawFound is false for a giveaway without a draw row yet; nothing is
	// stored then, and the caller creates the commitment and retries.
	DrawFound bool
	// Drawn means the draw closed the giveaway; nothing is stored.
	Drawn bool
	// Frozen means a v2 draw froze the entrants and waits for its beacon
	// round; nothing is stored.
	Frozen bool
	// CaptchaCompleted is false for a user who never passed the captcha;
	// nothing is stored.
	CaptchaCompleted bool
	// ParticipantID is the participation, new or existing; 0 when none.
	ParticipantID int64
	// Created is true when this call stored the participation.
	Created bool
	// Referral is what the participation's referral did, when this call
	// stored a participation with a referrer; the store's Enroll leaves
	// it nil.
	Referral *Referral
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
	Profile Profile
	// ReferrerUserID is the referrer given to the register call that
	// issued or last renewed the challenge, for GiveawayID; 0 for none.
	// The registration validate-captcha completes in that giveaway
	// carries it.
	ReferrerUserID int64
	Question       string
	Answer         int64
	AttemptsUsed   int
	MaxAttempts    int
	IssuedAt       time.Time
	ExpiresAt      time.Time
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

// Draw states. A v1 draw goes from committed to drawn in one step; a v2
// draw is frozen in between, while it waits for its beacon round.
const (
	DrawCommitted DrawStatus = "committed"
	DrawFrozen    DrawStatus = "frozen"
	DrawDrawn     DrawStatus = "drawn"
)

// Draw is a giveaway's draw: its commitment from the first registration
// on, and the full record once winners are selected. A v2 draw's Record
// holds its public state at every status.
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

	// Version is the protocol the giveaway was committed under,
	// draw.Version or draw.VersionV2: fixed at the commit, whatever the
	// service is configured with later. Empty means draw.Version.
	Version string
	// SumTree caches a v2 entrant tree's chunk roots and sums, saved at the
	// freeze, so that a proof reads one chunk.
	SumTree *draw.SumTreeCache
	// LogSeq is how many entries the giveaway has in the draw log, and
	// LogLast the index of the last one (nil for none): the seq and prev
	// of its next entry.
	LogSeq  uint64
	LogLast *uint64
	// PendingRedraw is a v2 redraw round that is requested (its
	// redraw-request entry logged) but waits for its beacon round.
	PendingRedraw *draw.Redraw
	// BeaconAt is when the beacon round the draw waits for is published:
	// the freeze's round while frozen, a pending redraw round's after; zero
	// when it waits for none.
	BeaconAt time.Time
}

// V2 reports whether the giveaway was committed under telegive-draw-v2.
func (d Draw) V2() bool { return d.Version == draw.VersionV2 }

// PublicRecord returns what anyone may see of the draw: the full record
// once drawn; before that only the commitment (and, in v2, what the commit
// and the freeze fix), never the server seed.
func (d Draw) PublicRecord() draw.Record {
	if d.V2() || d.Status == DrawDrawn {
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
	// WithLogLock runs fn while no other caller, on any replica, runs
	// WithLogLock: it serialises signing checkpoints and submitting them to
	// witnesses. fn reads and writes through the Store itself, outside any
	// transaction; the lock is released when fn returns or ctx ends.
	WithLogLock(ctx context.Context, fn func(ctx context.Context) error) error
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
	LogQueries
	RuleQueries
}

// RuleQueries read and write giveaways' rules.
type RuleQueries interface {
	// Rules returns the giveaway's stored rules, ErrNotFound when the
	// giveaway has neither rules nor a committed draw.
	Rules(ctx context.Context, giveawayID int64) (StoredRules, error)
	// SaveRules stores the rules' canonical JSON unless the giveaway's
	// draw is committed, and reports whether it did. The database settles
	// a race with the commit: whichever commits first wins, and rules
	// saved first are the ones the commit fixes.
	SaveRules(ctx context.Context, giveawayID int64, rulesJSON []byte, at time.Time) (bool, error)
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
	// Refer settles the referral of a participation stored in the same
	// transaction (see ReferralCredit): it records the referrer, once,
	// and adds the bonus to the referrer's own participation, locked
	// meanwhile. A participation that already has a referrer is left as
	// it is and reported not counted.
	Refer(ctx context.Context, c ReferralCredit) (Referral, error)
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
	// EntrantTickets returns the eligible entrants ascending with their
	// tickets, one count per entrant; tickets is nil when every entrant
	// holds one, which saves N x 8 bytes.
	EntrantTickets(ctx context.Context, giveawayID int64, requireSubscription bool) (ids []int64, tickets []uint64, err error)
	// ScanEntrantTickets passes the eligible entrants to add, ascending,
	// each with its tickets, as they are read, without holding them.
	ScanEntrantTickets(ctx context.Context, giveawayID int64, requireSubscription bool, add func(userID int64, tickets uint64)) error
	// EntrantTicketsFrom is EntrantTickets for up to limit entrants from
	// the given user id on.
	EntrantTicketsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) (ids []int64, tickets []uint64, err error)
	// ClaimPendingDraws leases, until leaseUntil, up to limit draws whose
	// awaited beacon round is published by now and that no other caller
	// holds a live lease on, and returns their giveaway ids. Claims that
	// race skip each other's rows.
	ClaimPendingDraws(ctx context.Context, now, leaseUntil time.Time, limit int) ([]int64, error)
	// UnloggedDraws returns, locked until the transaction ends, up to limit
	// draws without any log entry, skipping rows another transaction holds.
	UnloggedDraws(ctx context.Context, limit int) ([]Draw, error)
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

// LogAppend is an entry to append to the draw log: the giveaway's entry
// number Seq (its draw row must stand at Seq entries) and the entry's
// bytes, RFC 8785 JSON from package drawlog.
type LogAppend struct {
	GiveawayID int64
	Type       drawlog.Type
	Seq        uint64
	Data       []byte
}

// LogEntry is an entry of the draw log at its index.
type LogEntry struct {
	Index      uint64
	GiveawayID int64
	Type       drawlog.Type
	Data       []byte
}

// LogHead is the draw log's size and RFC 6962 root hash.
type LogHead struct {
	Size uint64
	Root drawlog.Hash
}

// StoredCheckpoint is a signed checkpoint of the log as stored: the note
// signed by the log, and the witnesses' cosignatures gathered for it by
// any replica.
type StoredCheckpoint struct {
	Size         uint64
	Note         string
	Cosignatures []note.Signature
}

// LogKeyPair is a note key pair in the text forms of golang.org/x/mod's
// note package: the signer key (PRIVATE+KEY+...) and the verifier key.
type LogKeyPair struct {
	Signer   string
	Verifier string
}

// LogQueries read and write the draw log: its entries, the hashes of its
// perfect subtrees, its head, checkpoints, cosignatures, witnesses' sizes
// and the generated signing key.
type LogQueries interface {
	// AppendLog appends the entries, in order, as the log's next entries,
	// in the caller's transaction, and moves each entry's giveaway on (its
	// draw row's entry count and last index), which must stand at the
	// entry's Seq. It returns the entries' indices. Appends are serialised
	// by the database, so indices are dense across replicas. Entries of one
	// giveaway are appended one call at a time, since each names the index
	// of the one before.
	AppendLog(ctx context.Context, entries ...LogAppend) ([]uint64, error)
	// LogHead returns the log's size and root.
	LogHead(ctx context.Context) (LogHead, error)
	// LogEntries returns the entries with indices in [start, end).
	LogEntries(ctx context.Context, start, end uint64) ([]LogEntry, error)
	// GiveawayLog returns the giveaway's entries in log order.
	GiveawayLog(ctx context.Context, giveawayID int64) ([]LogEntry, error)
	// LogInclusionProof returns the RFC 6962 audit path of the entry at
	// index in the tree of the given size, leaf upwards.
	LogInclusionProof(ctx context.Context, index, size uint64) ([]drawlog.Hash, error)
	// LogConsistencyProof returns the RFC 6962 consistency proof from tree
	// size first to second.
	LogConsistencyProof(ctx context.Context, first, second uint64) ([]drawlog.Hash, error)
	// SaveCheckpoint stores the signed note of the tree of the given size,
	// unless one is stored for that size already.
	SaveCheckpoint(ctx context.Context, size uint64, signedNote string) error
	// Checkpoints returns up to limit stored checkpoints of size at least
	// minSize, ascending, with their cosignatures.
	Checkpoints(ctx context.Context, minSize uint64, limit int) ([]StoredCheckpoint, error)
	// LatestCheckpoint returns the stored checkpoint of the largest size,
	// with its cosignatures, or ErrNotFound.
	LatestCheckpoint(ctx context.Context) (StoredCheckpoint, error)
	// LatestCosignedCheckpoint returns the stored checkpoint of the
	// largest size below the given one that at least quorum of the named
	// witnesses cosigned (distinct names with a cosignature stored for that
	// size, whether or not it verifies), with every cosignature stored for
	// it, or ErrNotFound.
	LatestCosignedCheckpoint(ctx context.Context, witnesses []string, quorum int, below uint64) (StoredCheckpoint, error)
	// SaveCosignatures stores witnesses' cosignatures of the checkpoint of
	// the given size, keeping the first one of each witness.
	SaveCosignatures(ctx context.Context, size uint64, sigs []note.Signature) error
	// WitnessSizes returns the latest tree size each witness is known to
	// hold, by witness name.
	WitnessSizes(ctx context.Context) (map[string]uint64, error)
	// SaveWitnessSizes raises the stored sizes to those given; a size never
	// goes down.
	SaveWitnessSizes(ctx context.Context, sizes map[string]uint64) error
	// EnsureLogKey stores fresh as the log's signing key unless one is
	// stored already, and returns the stored one.
	EnsureLogKey(ctx context.Context, fresh LogKeyPair) (LogKeyPair, error)
}

// BeaconSource gives verified drand beacons of one chain. internal/drand's
// Client is one: it fetches rounds from several relays and verifies each
// locally, so that no relay is trusted.
type BeaconSource interface {
	// Chain returns the pinned chain.
	Chain(ctx context.Context) (beacon.Chain, error)
	// Wait returns round's beacon once its time has come, verified.
	Wait(ctx context.Context, round uint64) (beacon.Beacon, error)
}

// ConsistencyFunc returns the RFC 6962 consistency proof between two sizes
// of the log, each hash 32 bytes.
type ConsistencyFunc func(ctx context.Context, from, to uint64) ([][]byte, error)

// Cosigner gathers witnesses' cosignatures of a checkpoint, in the shape of
// internal/witness's Client (whose ConsistencyFunc is its own named type,
// so the application adapts it in one line).
type Cosigner interface {
	// Cosign submits the log-signed checkpoint note of the given size to
	// every witness with the consistency proof from the size it last
	// cosigned (the larger of its own memory and known), and returns the
	// note with the verified cosignatures added, and those cosignatures; an
	// error when fewer than its quorum cosigned.
	Cosign(ctx context.Context, checkpointNote string, size uint64, consistency ConsistencyFunc, known map[string]uint64) (string, []drawlog.Cosignature, error)
	// KnownSizes returns the latest size each witness is known to hold.
	KnownSizes() map[string]uint64
}

// LogSigner signs the draw log's checkpoints: a note signer (Ed25519,
// named for the log's origin) that also tells its verifier key.
type LogSigner interface {
	note.Signer
	// VerifierKey returns the key verifiers pin:
	// name+hash+base64(0x01 || Ed25519 public key).
	VerifierKey() string
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

// ChatRef names a Telegram chat the way getChatMember takes it: by its
// numeric id (groups are negative, channels and supergroups -100...) or
// by its public username. Exactly one of the two is set.
type ChatRef struct {
	ID int64
	// Username is the public username without the @. Telegram matches it
	// without regard to case.
	Username string
}

// ChatByID returns a reference to the chat with the given id.
func ChatByID(id int64) ChatRef { return ChatRef{ID: id} }

// ChatByUsername returns a reference to the chat with the given public
// username; a leading @ is dropped.
func ChatByUsername(name string) ChatRef {
	return ChatRef{Username: strings.TrimPrefix(name, "@")}
}

// chatUsername is a public username: 4 to 32 letters, digits and
// underscores, starting with a letter (4-letter names are sold on
// Fragment, the rest are at least 5).
var chatUsername = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)

// ParseChatRef reads a chat as a caller writes it: "-1001234567890" or
// "@channel" (the @ may be left out). A positive id is refused: it names
// a user, whose private chat has no members to check.
func ParseChatRef(s string) (ChatRef, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		c := ChatByID(id)
		if !c.Valid() {
			return ChatRef{}, fmt.Errorf("chat id %d is not a group or channel id (they are negative)", id)
		}
		return c, nil
	}
	c := ChatByUsername(s)
	if !c.Valid() {
		return ChatRef{}, fmt.Errorf("%q is neither a chat id nor a public @username", s)
	}
	return c, nil
}

// Valid reports whether c names a group or channel: a negative id, or a
// well-formed username, never both.
func (c ChatRef) Valid() bool {
	if c.Username != "" {
		return c.ID == 0 && chatUsername.MatchString(c.Username)
	}
	return c.ID < 0
}

// String is the chat as getChatMember's chat_id takes it: the id, or the
// username with its @.
func (c ChatRef) String() string {
	if c.Username != "" {
		return "@" + c.Username
	}
	return strconv.FormatInt(c.ID, 10)
}

// MemberStatus is a user's status in a chat, as Telegram names it.
type MemberStatus string

// Telegram's member statuses.
const (
	MemberCreator       MemberStatus = "creator"
	MemberAdministrator MemberStatus = "administrator"
	MemberMember        MemberStatus = "member"
	// MemberRestricted is a member with restrictions, or a user who was
	// restricted and has since left: Membership.IsMember tells them apart.
	MemberRestricted MemberStatus = "restricted"
	MemberLeft       MemberStatus = "left"
	MemberKicked     MemberStatus = "kicked"
)

// Membership is a user's standing in one chat.
type Membership struct {
	Chat ChatRef
	// Status is Telegram's answer; empty when Err is set. A user Telegram
	// has never seen in the chat is MemberLeft.
	Status MemberStatus
	// IsMember is true for creators, administrators and members, and for
	// restricted users who are still in the chat.
	IsMember bool
	// IsAdmin is true for the chat's creator and administrators.
	IsAdmin bool
	// IsPremium is the is_premium of the answer's User, nil when the
	// answer does not carry it (or came from the cache).
	IsPremium *bool
	// CheckedAt is when Telegram gave the answer, which is earlier than
	// now when it came from the cache.
	CheckedAt time.Time
	// Err is nil for a definite answer; otherwise a *ChatError saying why
	// the membership is unknown. An unknown membership is neither a pass
	// nor a fail.
	Err error
}

// MembershipFailure says why a chat's membership is unknown.
type MembershipFailure int

// Membership failures. Only FailureUnavailable may go away by itself; the
// others need the giveaway's owner to fix the chat or the bot.
const (
	// FailureUnavailable: Telegram, or the auth service that holds the bot
	// token, could not be asked now (open breaker, timeout, 5xx, 429).
	FailureUnavailable MembershipFailure = iota + 1
	// FailureChatNotFound: Telegram knows no such chat (a wrong id or
	// username), or the bot was never in it.
	FailureChatNotFound
	// FailureBotNotAdmin: the bot is not an administrator of the chat (or
	// was removed from it), so it cannot see the chat's members.
	FailureBotNotAdmin
	// FailureBotToken: the account has no bot token, or Telegram refused it.
	FailureBotToken
)

func (f MembershipFailure) String() string {
	switch f {
	case FailureUnavailable:
		return "unavailable"
	case FailureChatNotFound:
		return "chat not found"
	case FailureBotNotAdmin:
		return "bot not an administrator"
	case FailureBotToken:
		return "bot token missing or rejected"
	}
	return "unknown failure"
}

// ChatError is why one chat's membership could not be learned. It names
// the chat and never the bot token.
type ChatError struct {
	Chat    ChatRef
	Failure MembershipFailure
	// RetryAfter is how long Telegram or the breaker asks us to wait, when
	// known.
	RetryAfter time.Duration
	// Err is the cause, for logs.
	Err error
}

func (e *ChatError) Error() string {
	msg := "chat " + e.Chat.String() + ": " + e.Failure.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ChatError) Unwrap() error { return e.Err }

// Memberships checks users' membership in several chats through the
// account's bot: the auth service holds the bot token, Telegram's
// getChatMember answers. internal/upstream's Subscriptions is one.
type Memberships interface {
	// AccountChannel returns the account's own channel, from the channel
	// service: the chat a giveaway requires when it names none.
	AccountChannel(ctx context.Context, accountID int64) (Channel, error)
	// CheckMemberships returns the user's membership in each chat, in the
	// order given, asking Telegram only about those not cached. The error
	// is nil only when every chat has a definite answer; otherwise it is
	// an *Error for the most serious failure (a misconfigured chat or bot
	// before an unavailable Telegram), and the memberships still list
	// every chat, each failed one with its Err, so that a definite "not a
	// member" elsewhere can still be reported.
	CheckMemberships(ctx context.Context, accountID, userID int64, chats []ChatRef) ([]Membership, error)
	// RecheckMemberships is CheckMemberships asking Telegram about every
	// chat, whatever is cached: for the draw, when a cached answer up to
	// the cache's lifetime old is not good enough.
	RecheckMemberships(ctx context.Context, accountID, userID int64, chats []ChatRef) ([]Membership, error)
}
