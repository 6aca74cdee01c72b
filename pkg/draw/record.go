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
}

// A Replacement is a winner drawn in a redraw round in place of a
// disqualified one.
type Replacement struct {
	// Position is the disqualified winner's position, which the replacement
	// takes.
	Position int `json:"position"`
	// UserID is the entrant at Index.
	UserID int64 `json:"user_id"`
	// Index is the entrant's place in the ascending entrant list, from 0.
	Index uint64 `json:"index"`
	// ReplacesUserID is the disqualified winner.
	ReplacesUserID int64 `json:"replaces_user_id"`
}

// A Redraw is one round of disqualifications and their replacements.
type Redraw struct {
	// DisqualifiedUserIDs lists the winners disqualified in this round, as
	// given.
	DisqualifiedUserIDs []int64 `json:"disqualified_user_ids"`
	// Reason says why, for the public record.
	Reason string `json:"reason"`
	// RedrawnAt is when the round was drawn.
	RedrawnAt time.Time `json:"redrawn_at"`
	// Replacements holds one entry per disqualified winner in ascending
	// order of position, fewer if the entrants ran out.
	Replacements []Replacement `json:"replacements"`
}

// A Record is the published state of a giveaway's draw. Its JSON form is the
// draw object of the API: while committed it holds only version, status,
// giveaway_id, commitment and committed_at; once drawn it holds every field.
type Record struct {
	// Version is the protocol version, [Version].
	Version string `json:"version"`
	// Status is StatusCommitted or StatusDrawn.
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
	// EntrantsRoot is the Merkle Tree Hash of the ascending entrant list.
	EntrantsRoot Hash `json:"entrants_root"`
	// Beacon is the caller's public randomness, nil when absent.
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
}

// committedJSON is the only shape in which a record that is not drawn is
// ever written, so the seed cannot leak before the draw.
type committedJSON struct {
	Version     string    `json:"version"`
	Status      string    `json:"status"`
	GiveawayID  int64     `json:"giveaway_id"`
	Commitment  Hash      `json:"commitment"`
	CommittedAt time.Time `json:"committed_at"`
}

// recordJSON has Record's fields without its methods.
type recordJSON Record

// MarshalJSON writes the committed shape unless r.Status is StatusDrawn,
// and the full shape, with times in UTC and lists never null, if it is.
func (r Record) MarshalJSON() ([]byte, error) {
	if r.Status != StatusDrawn {
		return json.Marshal(committedJSON{r.Version, r.Status, r.GiveawayID, r.Commitment, r.CommittedAt.UTC()})
	}
	return json.Marshal(recordJSON(r.normalized()))
}

// UnmarshalJSON reads either shape; fields absent from the committed shape
// are left zero.
func (r *Record) UnmarshalJSON(data []byte) error {
	var v recordJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	out := Record(v)
	if out.Status == StatusDrawn {
		out = out.normalized()
	} else {
		out.CommittedAt = out.CommittedAt.UTC()
	}
	*r = out
	return nil
}

// normalized returns a copy of r in the form it is published in: times in
// UTC, lists non-nil, an empty beacon nil.
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
type Proof struct {
	// UserID is the entrant the proof is for.
	UserID int64 `json:"user_id"`
	// LeafIndex is the user's index in the ascending entrant list.
	LeafIndex uint64 `json:"leaf_index"`
	// TreeSize is the number of entrants.
	TreeSize uint64 `json:"tree_size"`
	// AuditPath is the RFC 6962 audit path, from the leaf upwards.
	AuditPath []Hash `json:"audit_path"`
	// EntrantsRoot is the root the path leads to, the record's.
	EntrantsRoot Hash `json:"entrants_root"`
	// IsWinner and Position report the user's place among the current
	// winners; Position is 0 when the user did not win.
	IsWinner bool `json:"is_winner"`
	Position int  `json:"position"`
}

// Proof returns the inclusion proof of userID in the drawn record r. The
// entrants must be the list r was drawn from; that is checked through the
// proof itself, at no extra hashing, so it goes unchecked when userID is not
// among them and [ErrNotEntered] is returned.
func (r Record) Proof(entrants []int64, userID int64) (Proof, error) {
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
