package draw

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Record statuses.
const (
	// StatusCommitted marks a record whose commitment is published and whose
	// seed is still secret.
	StatusCommitted = "committed"
	// StatusFrozen marks a v2 record whose entrants are frozen and whose
	// beacon round is fixed, but whose winners are not drawn yet: it shows
	// the freeze values, never the seed.
	StatusFrozen = "frozen"
	// StatusDrawn marks a record whose winners are drawn and whose seed is
	// revealed.
	StatusDrawn = "drawn"
)

// ErrNotEntered is returned by [Record.Proof] for a user who is not among
// the entrants.
var ErrNotEntered = errors.New("draw: user is not an entrant")

// A Pick is a winner of the initial draw.
type Pick struct {
	// Position is the winner's rank, from 1.
	Position int `json:"position"`
	// UserID is the entrant at Index.
	UserID int64 `json:"user_id"`
	// Index is the entrant's place in the ascending entrant list, from 0.
	Index uint64 `json:"index"`

	// The fields below are those of v2 and are 0 in a v1 pick, whose JSON
	// leaves them out.

	// Tickets is how many tickets the winner held, at least 1.
	Tickets uint64 `json:"tickets"`
	// FirstTicket is the first of them: the winner held the tickets
	// [FirstTicket, FirstTicket + Tickets) of [0, T).
	FirstTicket uint64 `json:"first_ticket"`
	// Ticket is the stream's value x = uniform(T) that hit the winner.
	Ticket uint64 `json:"ticket"`
	// StreamIndex says which value of the stream x was, from 0, counting
	// every value read (those uniform rejected, and those that hit an
	// entrant chosen before, included).
	StreamIndex uint64 `json:"stream_index"`
}

// pickV1 is the JSON of a v1 pick.
type pickV1 struct {
	Position int    `json:"position"`
	UserID   int64  `json:"user_id"`
	Index    uint64 `json:"index"`
}

// pickV2 has Pick's fields without its methods: the JSON of a v2 pick.
type pickV2 Pick

// MarshalJSON writes v1's {position, user_id, index} when p.Tickets is 0,
// as in every v1 record, and v2's shape, with tickets, first_ticket,
// ticket and stream_index, otherwise.
func (p Pick) MarshalJSON() ([]byte, error) {
	if p.Tickets == 0 {
		return json.Marshal(pickV1{p.Position, p.UserID, p.Index})
	}
	return json.Marshal(pickV2(p))
}

// A Replacement is a winner drawn in a redraw round in place of a
// disqualified one.
type Replacement struct {
	// Position is the disqualified winner's position, which the replacement
	// takes.
	Position int `json:"position"`
	// UserID is the entrant at Index. In v2 it is 0 (JSON null) when no
	// unchosen entrant was left, so the position stays empty.
	UserID int64 `json:"user_id"`
	// Index is the entrant's place in the ascending entrant list, from 0.
	Index uint64 `json:"index"`
	// ReplacesUserID is the disqualified winner.
	ReplacesUserID int64 `json:"replaces_user_id"`

	// The fields below are v2's, as in [Pick]; 0 in v1, and 0 (JSON null,
	// as Index) for an empty position.
	Tickets     uint64 `json:"tickets"`
	FirstTicket uint64 `json:"first_ticket"`
	Ticket      uint64 `json:"ticket"`
	StreamIndex uint64 `json:"stream_index"`
}

// Empty reports whether a v2 replacement leaves its position empty.
func (p Replacement) Empty() bool { return p.UserID == 0 }

// replacementV1 is the JSON of a v1 replacement.
type replacementV1 struct {
	Position       int    `json:"position"`
	UserID         int64  `json:"user_id"`
	Index          uint64 `json:"index"`
	ReplacesUserID int64  `json:"replaces_user_id"`
}

// replacementV2 is the JSON of a v2 replacement; the entrant's fields are
// null for an empty position.
type replacementV2 struct {
	Position       int     `json:"position"`
	UserID         *int64  `json:"user_id"`
	Index          *uint64 `json:"index"`
	Tickets        *uint64 `json:"tickets"`
	FirstTicket    *uint64 `json:"first_ticket"`
	Ticket         *uint64 `json:"ticket"`
	StreamIndex    *uint64 `json:"stream_index"`
	ReplacesUserID int64   `json:"replaces_user_id"`
}

func (p Replacement) v2() replacementV2 {
	out := replacementV2{Position: p.Position, ReplacesUserID: p.ReplacesUserID}
	if !p.Empty() {
		out.UserID, out.Index, out.Tickets = &p.UserID, &p.Index, &p.Tickets
		out.FirstTicket, out.Ticket, out.StreamIndex = &p.FirstTicket, &p.Ticket, &p.StreamIndex
	}
	return out
}

func (p replacementV2) replacement() Replacement {
	return Replacement{Position: p.Position, UserID: deref(p.UserID), Index: deref(p.Index), Tickets: deref(p.Tickets),
		FirstTicket: deref(p.FirstTicket), Ticket: deref(p.Ticket), StreamIndex: deref(p.StreamIndex), ReplacesUserID: p.ReplacesUserID}
}

// deref returns *p, or zero for nil (JSON null).
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// MarshalJSON writes v1's {position, user_id, index, replaces_user_id}
// for a replacement with a user and no tickets, as in every v1 record, and
// v2's shape otherwise.
func (p Replacement) MarshalJSON() ([]byte, error) {
	if p.Tickets == 0 && !p.Empty() {
		return json.Marshal(replacementV1{p.Position, p.UserID, p.Index, p.ReplacesUserID})
	}
	return json.Marshal(p.v2())
}

// A Redraw is one round of disqualifications and their replacements.
type Redraw struct {
	// DisqualifiedUserIDs lists the winners disqualified in this round, as
	// given. v1 only.
	DisqualifiedUserIDs []int64 `json:"disqualified_user_ids"`
	// Reason says why, for the public record. v1 only: in v2 each
	// disqualification has its reason.
	Reason string `json:"reason"`
	// RedrawnAt is when the round was drawn.
	RedrawnAt time.Time `json:"redrawn_at"`
	// Replacements holds one entry per disqualified winner in ascending
	// order of position: in v1 fewer if the entrants ran out, in v2 an
	// empty one (UserID 0) for each position left empty.
	Replacements []Replacement `json:"replacements"`

	// The fields below are v2's and zero in v1.

	// Round numbers the round, from 1.
	Round uint64 `json:"round"`
	// Disqualified lists the disqualified winners in ascending order of
	// their positions, each with its reason.
	Disqualified []Disqualification `json:"disqualified"`
	// RequestedAt is when the round was requested, which fixes its beacon
	// round.
	RequestedAt time.Time `json:"requested_at"`
	// BeaconRound is the first beacon round at or after RequestedAt +
	// beacon_delay, and BeaconSignature its signature.
	BeaconRound     uint64   `json:"beacon_round"`
	BeaconSignature HexBytes `json:"beacon_signature"`
	// RequestAttestation shows the round's redraw-request entry in a
	// witnessed checkpoint, nil when it was not attested.
	RequestAttestation *Attestation `json:"request_attestation"`
}

// redrawV1 is the JSON of a v1 redraw round.
type redrawV1 struct {
	DisqualifiedUserIDs []int64         `json:"disqualified_user_ids"`
	Reason              string          `json:"reason"`
	RedrawnAt           time.Time       `json:"redrawn_at"`
	Replacements        []replacementV1 `json:"replacements"`
}

// redrawV2 is the JSON of a v2 redraw round.
type redrawV2 struct {
	Round              uint64             `json:"round"`
	Disqualified       []Disqualification `json:"disqualified"`
	RequestedAt        time.Time          `json:"requested_at"`
	BeaconRound        uint64             `json:"beacon_round"`
	BeaconSignature    HexBytes           `json:"beacon_signature"`
	RequestAttestation *Attestation       `json:"request_attestation"`
	Replacements       []replacementV2    `json:"replacements"`
	RedrawnAt          time.Time          `json:"redrawn_at"`
}

// MarshalJSON writes v1's shape when rd.Round is 0, as in every v1
// record, and v2's otherwise.
func (rd Redraw) MarshalJSON() ([]byte, error) {
	if rd.Round == 0 {
		return json.Marshal(rd.v1())
	}
	return json.Marshal(rd.v2())
}

func (rd Redraw) v1() redrawV1 {
	out := redrawV1{DisqualifiedUserIDs: rd.DisqualifiedUserIDs, Reason: rd.Reason, RedrawnAt: rd.RedrawnAt,
		Replacements: make([]replacementV1, len(rd.Replacements))}
	for i, p := range rd.Replacements {
		out.Replacements[i] = replacementV1{p.Position, p.UserID, p.Index, p.ReplacesUserID}
	}
	return out
}

func (rd redrawV1) redraw() Redraw {
	out := Redraw{DisqualifiedUserIDs: rd.DisqualifiedUserIDs, Reason: rd.Reason, RedrawnAt: rd.RedrawnAt}
	if rd.Replacements != nil {
		out.Replacements = make([]Replacement, len(rd.Replacements))
		for i, p := range rd.Replacements {
			out.Replacements[i] = Replacement{Position: p.Position, UserID: p.UserID, Index: p.Index, ReplacesUserID: p.ReplacesUserID}
		}
	}
	return out
}

func (rd Redraw) v2() redrawV2 {
	out := redrawV2{Round: rd.Round, Disqualified: nonNil(rd.Disqualified), RequestedAt: rd.RequestedAt.UTC(),
		BeaconRound: rd.BeaconRound, BeaconSignature: rd.BeaconSignature, RequestAttestation: rd.RequestAttestation,
		Replacements: make([]replacementV2, len(rd.Replacements)), RedrawnAt: rd.RedrawnAt.UTC()}
	for i, p := range rd.Replacements {
		out.Replacements[i] = p.v2()
	}
	return out
}

func (rd redrawV2) redraw() Redraw {
	out := Redraw{Round: rd.Round, Disqualified: rd.Disqualified, RequestedAt: rd.RequestedAt, BeaconRound: rd.BeaconRound,
		BeaconSignature: rd.BeaconSignature, RequestAttestation: rd.RequestAttestation, RedrawnAt: rd.RedrawnAt}
	if rd.Replacements != nil {
		out.Replacements = make([]Replacement, len(rd.Replacements))
		for i, p := range rd.Replacements {
			out.Replacements[i] = p.replacement()
		}
	}
	return out
}

// A Record is the published state of a giveaway's draw. Its JSON form is the
// draw object of the API, in the shape of its version and status: a v1
// record while committed holds only version, status, giveaway_id,
// commitment and committed_at, and once drawn every v1 field; a v2 record
// adds its own fields (see the package documentation) and never v1's
// beacon. A v1 record's JSON never holds a v2 field.
type Record struct {
	// Version is the protocol version, [Version] or [VersionV2].
	Version string `json:"version"`
	// Status is StatusCommitted, StatusFrozen (v2 only) or StatusDrawn.
	Status string `json:"status"`
	// GiveawayID identifies the giveaway and is bound into the draw seed.
	GiveawayID int64 `json:"giveaway_id"`
	// Commitment is SHA-256(ServerSeed), published at CommittedAt.
	Commitment  Hash      `json:"commitment"`
	CommittedAt time.Time `json:"committed_at"`

	// The fields below are published only once the record is drawn.

	// ServerSeed is the 32-byte secret behind Commitment.
	ServerSeed HexBytes `json:"server_seed"`
	// EntrantsCount is N, the number of entrants.
	EntrantsCount uint64 `json:"entrants_count"`
	// EntrantsRoot is the root hash of the entrant tree: in v1 the RFC
	// 6962 Merkle Tree Hash of the ascending entrant list, in v2 that of
	// the Merkle sum tree of user ids and tickets.
	EntrantsRoot Hash `json:"entrants_root"`
	// Beacon is the caller's public randomness of v1, nil when absent.
	// Always nil in v2, whose randomness comes from BeaconSignature.
	Beacon HexBytes `json:"beacon"`
	// DrawSeed keys the stream that selects the winners.
	DrawSeed Hash `json:"draw_seed"`
	// WinnerCountRequested is the winner count asked for; min(it, N)
	// winners are drawn.
	WinnerCountRequested uint64 `json:"winner_count_requested"`
	// Winners are the initial winners in position order.
	Winners []Pick `json:"winners"`
	// Replacements are the redraw rounds in the order they were applied.
	Replacements []Redraw `json:"replacements"`
	// DrawnAt is when the winners were drawn and the seed revealed.
	DrawnAt time.Time `json:"drawn_at"`

	// The fields below are v2's and zero in v1. The first four are public
	// from the commit on, the next seven from the freeze on.

	// ChainHash names the drand chain whose beacon the draw waits for.
	ChainHash Hash `json:"chain_hash"`
	// BeaconDelay is the whole seconds from the freeze to the beacon round.
	BeaconDelay uint64 `json:"beacon_delay"`
	// MaxTickets is the most tickets one entrant may hold.
	MaxTickets uint64 `json:"max_tickets"`
	// RulesSHA256 is the SHA-256 of the giveaway's rules, nil when it has
	// none (JSON null).
	RulesSHA256 *Hash `json:"rules_sha256"`
	// TotalTickets is T, the sum of every entrant's tickets: the sum of
	// the entrants root.
	TotalTickets uint64 `json:"total_tickets"`
	// FrozenAt is when registration closed and the entrants were fixed.
	FrozenAt time.Time `json:"frozen_at"`
	// BeaconRound is the first round of the chain whose time is at or
	// after FrozenAt + BeaconDelay.
	BeaconRound uint64 `json:"beacon_round"`
	// FreezeAttested says whether FreezeAttestation shows the freeze entry
	// in a checkpoint cosigned by the witnesses; when false the freeze
	// time rests on the operator's word.
	FreezeAttested bool `json:"freeze_attested"`
	// FreezeAttestation is nil when FreezeAttested is false.
	FreezeAttestation *Attestation `json:"freeze_attestation"`
	// Log names this giveaway's entries in the draw log, in log order.
	Log []LogRef `json:"log"`
	// BeaconSignature is BeaconRound's signature, published with the draw;
	// empty when there are no entrants, for which no beacon is awaited.
	BeaconSignature HexBytes `json:"beacon_signature"`
	// Recheck is the draw-time check of the winners against the rules,
	// nil when the giveaway's rules ask for none (v2 only).
	Recheck *Recheck `json:"recheck,omitempty"`
}

// committedJSON is the only shape in which a v1 record that is not drawn is
// ever written, so the seed cannot leak before the draw.
type committedJSON struct {
	Version     string    `json:"version"`
	Status      string    `json:"status"`
	GiveawayID  int64     `json:"giveaway_id"`
	Commitment  Hash      `json:"commitment"`
	CommittedAt time.Time `json:"committed_at"`
}

// recordV1 is the JSON of a drawn v1 record.
type recordV1 struct {
	Version              string     `json:"version"`
	Status               string     `json:"status"`
	GiveawayID           int64      `json:"giveaway_id"`
	Commitment           Hash       `json:"commitment"`
	CommittedAt          time.Time  `json:"committed_at"`
	ServerSeed           HexBytes   `json:"server_seed"`
	EntrantsCount        uint64     `json:"entrants_count"`
	EntrantsRoot         Hash       `json:"entrants_root"`
	Beacon               HexBytes   `json:"beacon"`
	DrawSeed             Hash       `json:"draw_seed"`
	WinnerCountRequested uint64     `json:"winner_count_requested"`
	Winners              []pickV1   `json:"winners"`
	Replacements         []redrawV1 `json:"replacements"`
	DrawnAt              time.Time  `json:"drawn_at"`
}

func (r Record) v1() recordV1 {
	out := recordV1{
		Version: r.Version, Status: r.Status, GiveawayID: r.GiveawayID, Commitment: r.Commitment, CommittedAt: r.CommittedAt,
		ServerSeed: r.ServerSeed, EntrantsCount: r.EntrantsCount, EntrantsRoot: r.EntrantsRoot, Beacon: r.Beacon,
		DrawSeed: r.DrawSeed, WinnerCountRequested: r.WinnerCountRequested, DrawnAt: r.DrawnAt,
		Winners: make([]pickV1, len(r.Winners)), Replacements: make([]redrawV1, len(r.Replacements)),
	}
	for i, w := range r.Winners {
		out.Winners[i] = pickV1{w.Position, w.UserID, w.Index}
	}
	for i, rd := range r.Replacements {
		out.Replacements[i] = rd.v1()
	}
	return out
}

func (v recordV1) record() Record {
	out := Record{
		Version: v.Version, Status: v.Status, GiveawayID: v.GiveawayID, Commitment: v.Commitment, CommittedAt: v.CommittedAt,
		ServerSeed: v.ServerSeed, EntrantsCount: v.EntrantsCount, EntrantsRoot: v.EntrantsRoot, Beacon: v.Beacon,
		DrawSeed: v.DrawSeed, WinnerCountRequested: v.WinnerCountRequested, DrawnAt: v.DrawnAt,
	}
	if v.Winners != nil {
		out.Winners = make([]Pick, len(v.Winners))
		for i, w := range v.Winners {
			out.Winners[i] = Pick{Position: w.Position, UserID: w.UserID, Index: w.Index}
		}
	}
	if v.Replacements != nil {
		out.Replacements = make([]Redraw, len(v.Replacements))
		for i, rd := range v.Replacements {
			out.Replacements[i] = rd.redraw()
		}
	}
	return out
}

// MarshalJSON writes the record in the shape of its version and status. A
// v1 record is written in the committed shape unless its status is
// StatusDrawn, and in the full shape, with times in UTC and lists never
// null, if it is. A v2 record is written in the shape of its status (see
// the package documentation); the seed appears only once it is drawn.
func (r Record) MarshalJSON() ([]byte, error) {
	if r.Version == VersionV2 {
		return r.marshalV2()
	}
	if r.Status != StatusDrawn {
		return json.Marshal(committedJSON{r.Version, r.Status, r.GiveawayID, r.Commitment, r.CommittedAt.UTC()})
	}
	return json.Marshal(r.normalized().v1())
}

// UnmarshalJSON reads any shape of either version; fields absent from the
// shape are left zero, and fields of another version are ignored.
func (r *Record) UnmarshalJSON(data []byte) error {
	var head struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	if head.Version == VersionV2 {
		return r.unmarshalV2(data)
	}
	var v recordV1
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	out := v.record()
	if out.Status == StatusDrawn {
		out = out.normalized()
	} else {
		out.CommittedAt = out.CommittedAt.UTC()
	}
	*r = out
	return nil
}

// normalized returns a copy of the v1 record r in the form it is published
// in: times in UTC, lists non-nil, an empty beacon nil.
func (r Record) normalized() Record {
	r.CommittedAt = r.CommittedAt.UTC()
	r.DrawnAt = r.DrawnAt.UTC()
	if len(r.Beacon) == 0 {
		r.Beacon = nil
	}
	r.Winners = nonNil(r.Winners)
	rounds := make([]Redraw, len(r.Replacements))
	for i, rd := range r.Replacements {
		rd.DisqualifiedUserIDs = nonNil(rd.DisqualifiedUserIDs)
		rd.RedrawnAt = rd.RedrawnAt.UTC()
		rd.Replacements = nonNil(rd.Replacements)
		rounds[i] = rd
	}
	r.Replacements = rounds
	return r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Input is what a draw is computed from.
type Input struct {
	// GiveawayID identifies the giveaway; it is bound into the draw seed.
	GiveawayID int64
	// ServerSeed is the 32-byte secret committed to at CommittedAt.
	ServerSeed []byte
	// CommittedAt and DrawnAt are recorded; the commitment must not be
	// later than the draw.
	CommittedAt, DrawnAt time.Time
	// Entrants holds the eligible user ids, strictly ascending and each at
	// least 1.
	Entrants []int64
	// Beacon is optional public randomness, recorded verbatim.
	Beacon []byte
	// WinnerCount is the number of winners asked for, at least 1; fewer are
	// drawn when there are fewer entrants.
	WinnerCount uint64
}

// Draw validates in and computes its draw record, with status StatusDrawn
// and no redraw rounds.
func Draw(in Input) (Record, error) {
	r, _, err := DrawCached(in)
	return r, err
}

// DrawCached is Draw that also returns the entrant tree's cache, for cheap
// inclusion proofs later; the tree is hashed once for both.
func DrawCached(in Input) (Record, TreeCache, error) {
	if len(in.ServerSeed) != 32 {
		return Record{}, TreeCache{}, fmt.Errorf("draw: server seed must be 32 bytes, got %d", len(in.ServerSeed))
	}
	if in.WinnerCount == 0 {
		return Record{}, TreeCache{}, errors.New("draw: winner count must be at least 1")
	}
	if in.DrawnAt.Before(in.CommittedAt) {
		return Record{}, TreeCache{}, errors.New("draw: drawn before committed")
	}
	if err := checkEntrants(in.Entrants); err != nil {
		return Record{}, TreeCache{}, fmt.Errorf("draw: %w", err)
	}
	cache := NewTreeCache(in.Entrants)
	n := uint64(len(in.Entrants))
	r := Record{
		Version:              Version,
		Status:               StatusDrawn,
		GiveawayID:           in.GiveawayID,
		Commitment:           Commitment(in.ServerSeed),
		CommittedAt:          in.CommittedAt.UTC(),
		ServerSeed:           HexBytes(slices.Clone(in.ServerSeed)),
		EntrantsCount:        n,
		EntrantsRoot:         cache.Root(),
		WinnerCountRequested: in.WinnerCount,
		Replacements:         []Redraw{},
		DrawnAt:              in.DrawnAt.UTC(),
	}
	if len(in.Beacon) > 0 {
		r.Beacon = HexBytes(slices.Clone(in.Beacon))
	}
	r.DrawSeed = DrawSeed(r.ServerSeed, r.GiveawayID, r.EntrantsRoot, n, r.Beacon)
	idx := Select(r.DrawSeed, n, in.WinnerCount)
	r.Winners = make([]Pick, len(idx))
	for j, i := range idx {
		r.Winners[j] = Pick{Position: j + 1, UserID: in.Entrants[i], Index: i}
	}
	return r, cache, nil
}

func checkEntrants(entrants []int64) error {
	for i, id := range entrants {
		if id < 1 {
			return fmt.Errorf("entrant %d at index %d is not a positive user id", id, i)
		}
		if i > 0 && id <= entrants[i-1] {
			return fmt.Errorf("entrants not strictly ascending at index %d (%d after %d)", i, id, entrants[i-1])
		}
	}
	return nil
}

// Redraw computes the next redraw round of r, disqualifying the given
// current winners for reason at the given time; the caller appends the
// result to r.Replacements. The entrants must be the list r was drawn from.
func (r Record) Redraw(entrants []int64, disqualified []int64, reason string, at time.Time) (Redraw, error) {
	if r.Version == VersionV2 {
		return Redraw{}, errors.New("draw: a v2 record is redrawn with RequestRedraw and CompleteRedraw")
	}
	if r.Status != StatusDrawn {
		return Redraw{}, fmt.Errorf("draw: cannot redraw a record with status %q", r.Status)
	}
	if err := r.matchEntrants(entrants); err != nil {
		return Redraw{}, err
	}
	s, verr := r.replay(entrants)
	if verr != nil {
		return Redraw{}, fmt.Errorf("draw: record is inconsistent: %w", verr)
	}
	repl, err := s.round(disqualified)
	if err != nil {
		return Redraw{}, fmt.Errorf("draw: %w", err)
	}
	for i := range repl {
		repl[i].UserID = entrants[repl[i].Index]
	}
	return Redraw{
		DisqualifiedUserIDs: slices.Clone(disqualified),
		Reason:              reason,
		RedrawnAt:           at.UTC(),
		Replacements:        repl,
	}, nil
}

func (r Record) matchEntrants(entrants []int64) error {
	if n := uint64(len(entrants)); n != r.EntrantsCount {
		return fmt.Errorf("draw: %d entrants given, record has %d", n, r.EntrantsCount)
	}
	if root := Root(entrants); root != r.EntrantsRoot {
		return fmt.Errorf("draw: entrants root %s does not match the record's %s", root, r.EntrantsRoot)
	}
	return nil
}

// CurrentWinners returns the initial winners with every redraw round
// applied, ordered by position. A position left empty because the entrants
// ran out is omitted.
func (r Record) CurrentWinners() []Pick {
	if r.Version == VersionV2 {
		return r.currentWinnersV2()
	}
	seats := make(map[int]Pick, len(r.Winners))
	users := make(map[int64]int, len(r.Winners))
	for _, w := range r.Winners {
		seats[w.Position] = w
		users[w.UserID] = w.Position
	}
	for _, rd := range r.Replacements {
		for _, id := range rd.DisqualifiedUserIDs {
			if pos, ok := users[id]; ok {
				delete(seats, pos)
				delete(users, id)
			}
		}
		for _, p := range rd.Replacements {
			seats[p.Position] = Pick{Position: p.Position, UserID: p.UserID, Index: p.Index}
			users[p.UserID] = p.Position
		}
	}
	out := make([]Pick, 0, len(seats))
	for _, w := range seats {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Pick) int { return cmp.Compare(a.Position, b.Position) })
	return out
}

// A Proof shows that a user was an entrant of a draw, and whether they won.
// A v1 proof has Tickets 0 and AuditPath; a v2 proof has the user's
// tickets, first ticket and the total, and SumPath. In JSON both paths are
// "audit_path": hex strings in v1, {hash, sum} objects in v2.
type Proof struct {
	// UserID is the entrant the proof is for.
	UserID int64 `json:"user_id"`
	// LeafIndex is the user's index in the ascending entrant list.
	LeafIndex uint64 `json:"leaf_index"`
	// TreeSize is the number of entrants.
	TreeSize uint64 `json:"tree_size"`
	// AuditPath is the v1 RFC 6962 audit path, from the leaf upwards.
	AuditPath []Hash `json:"audit_path"`
	// EntrantsRoot is the root the path leads to, the record's.
	EntrantsRoot Hash `json:"entrants_root"`
	// IsWinner and Position report the user's place among the current
	// winners; Position is 0 when the user did not win.
	IsWinner bool `json:"is_winner"`
	Position int  `json:"position"`

	// The fields below are v2's and zero in v1.

	// Tickets is how many tickets the user held, at least 1.
	Tickets uint64 `json:"-"`
	// FirstTicket is the first of them: the user held [FirstTicket,
	// FirstTicket + Tickets) of [0, TotalTickets).
	FirstTicket uint64 `json:"-"`
	// TotalTickets is T, the sum of the root.
	TotalTickets uint64 `json:"-"`
	// SumPath is the audit path of {hash, sum} siblings of the Merkle sum
	// tree, from the leaf upwards.
	SumPath []Node `json:"-"`
}

// proofV1 is the JSON of a v1 proof.
type proofV1 struct {
	UserID       int64  `json:"user_id"`
	LeafIndex    uint64 `json:"leaf_index"`
	TreeSize     uint64 `json:"tree_size"`
	AuditPath    []Hash `json:"audit_path"`
	EntrantsRoot Hash   `json:"entrants_root"`
	IsWinner     bool   `json:"is_winner"`
	Position     int    `json:"position"`
}

// proofV2 is the JSON of a v2 proof.
type proofV2 struct {
	UserID       int64  `json:"user_id"`
	Tickets      uint64 `json:"tickets"`
	LeafIndex    uint64 `json:"leaf_index"`
	TreeSize     uint64 `json:"tree_size"`
	FirstTicket  uint64 `json:"first_ticket"`
	AuditPath    []Node `json:"audit_path"`
	EntrantsRoot Hash   `json:"entrants_root"`
	TotalTickets uint64 `json:"total_tickets"`
	IsWinner     bool   `json:"is_winner"`
	Position     int    `json:"position"`
}

// MarshalJSON writes v1's shape when p.Tickets is 0 and v2's otherwise.
func (p Proof) MarshalJSON() ([]byte, error) {
	if p.Tickets == 0 {
		return json.Marshal(proofV1{p.UserID, p.LeafIndex, p.TreeSize, p.AuditPath, p.EntrantsRoot, p.IsWinner, p.Position})
	}
	return json.Marshal(proofV2{p.UserID, p.Tickets, p.LeafIndex, p.TreeSize, p.FirstTicket, nonNil(p.SumPath), p.EntrantsRoot,
		p.TotalTickets, p.IsWinner, p.Position})
}

// UnmarshalJSON reads a v2 proof when it has a "tickets" member, and a v1
// proof otherwise.
func (p *Proof) UnmarshalJSON(data []byte) error {
	var probe struct {
		Tickets json.RawMessage `json:"tickets"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	if probe.Tickets == nil {
		var v proofV1
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*p = Proof{UserID: v.UserID, LeafIndex: v.LeafIndex, TreeSize: v.TreeSize, AuditPath: v.AuditPath,
			EntrantsRoot: v.EntrantsRoot, IsWinner: v.IsWinner, Position: v.Position}
		return nil
	}
	var v proofV2
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*p = Proof{UserID: v.UserID, Tickets: v.Tickets, LeafIndex: v.LeafIndex, TreeSize: v.TreeSize, FirstTicket: v.FirstTicket,
		SumPath: nonNil(v.AuditPath), EntrantsRoot: v.EntrantsRoot, TotalTickets: v.TotalTickets, IsWinner: v.IsWinner, Position: v.Position}
	return nil
}

// Proof returns the inclusion proof of userID in the drawn record r. The
// entrants must be the list r was drawn from; that is checked through the
// proof itself, at no extra hashing, so it goes unchecked when userID is not
// among them and [ErrNotEntered] is returned.
func (r Record) Proof(entrants []int64, userID int64) (Proof, error) {
	if r.Version == VersionV2 {
		return Proof{}, errors.New("draw: a v2 record's proofs come from TicketProof or ProofFromLeaf")
	}
	if r.Status != StatusDrawn {
		return Proof{}, fmt.Errorf("draw: no proof before the draw (status %q)", r.Status)
	}
	if n := uint64(len(entrants)); n != r.EntrantsCount {
		return Proof{}, fmt.Errorf("draw: %d entrants given, record has %d", n, r.EntrantsCount)
	}
	i, found := slices.BinarySearch(entrants, userID)
	if !found {
		return Proof{}, ErrNotEntered
	}
	path, err := InclusionProof(entrants, uint64(i))
	if err != nil {
		return Proof{}, err
	}
	// Checking the path against the record's root proves that the list is
	// the drawn one without hashing it a second time.
	if err := VerifyInclusion(userID, uint64(i), r.EntrantsCount, path, r.EntrantsRoot); err != nil {
		return Proof{}, errors.New("draw: entrants do not match the record's root")
	}
	p := Proof{
		UserID:       userID,
		LeafIndex:    uint64(i),
		TreeSize:     r.EntrantsCount,
		AuditPath:    path,
		EntrantsRoot: r.EntrantsRoot,
	}
	for _, w := range r.CurrentWinners() {
		if w.UserID == userID {
			p.IsWinner, p.Position = true, w.Position
		}
	}
	return p, nil
}
