package draw

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// A Reason says why a winner was disqualified. Only the constants below
// are valid.
type Reason string

// The reasons a v2 winner may be disqualified for.
const (
	ReasonNotSubscribed   Reason = "not_subscribed"
	ReasonAdmin           Reason = "admin"
	ReasonPremiumRequired Reason = "premium_required"
	ReasonAccountTooNew   Reason = "account_too_new"
	ReasonFraud           Reason = "fraud"
	ReasonUnreachable     Reason = "unreachable"
	ReasonDeclined        Reason = "declined"
	ReasonRulesViolation  Reason = "rules_violation"
)

var reasons = []Reason{ReasonNotSubscribed, ReasonAdmin, ReasonPremiumRequired, ReasonAccountTooNew,
	ReasonFraud, ReasonUnreachable, ReasonDeclined, ReasonRulesViolation}

// Reasons returns every valid reason.
func Reasons() []Reason { return slices.Clone(reasons) }

// Valid reports whether r is one of the reasons.
func (r Reason) Valid() bool { return slices.Contains(reasons, r) }

// A Disqualification names a current winner to replace and why.
type Disqualification struct {
	UserID int64  `json:"user_id"`
	Reason Reason `json:"reason"`
}

// An Attestation shows a log entry in a checkpoint of the draw log cosigned
// by witnesses: the freeze entry (in a record's freeze_attestation) or a
// redraw round's redraw-request entry (its request_attestation).
type Attestation struct {
	// Checkpoint is the signed note: the checkpoint body, the log's
	// signature and the witnesses' cosignature/v1 lines.
	Checkpoint string `json:"checkpoint"`
	// LeafIndex is the entry's index in the log.
	LeafIndex uint64 `json:"leaf_index"`
	// TreeSize is the checkpoint's tree size.
	TreeSize uint64 `json:"tree_size"`
	// AuditPath is the RFC 6962 inclusion proof of the entry under the
	// checkpoint's root, from the leaf upwards.
	AuditPath []Hash `json:"audit_path"`
}

// normalized returns a copy with a non-nil audit path, as decoding gives.
func (a *Attestation) normalized() *Attestation {
	if a == nil {
		return nil
	}
	c := *a
	c.AuditPath = nonNil(c.AuditPath)
	return &c
}

// A LogRef names one of the giveaway's entries in the draw log.
type LogRef struct {
	Type  drawlog.Type `json:"type"`
	Index uint64       `json:"index"`
}

// DefaultBeaconDelay is the beacon delay of [Commit] when none is given,
// in seconds.
const DefaultBeaconDelay = 10

// The JSON shapes of a v2 record: what is public at the commit, then at
// the freeze, then at the draw.
type committedV2 struct {
	Version     string    `json:"version"`
	Status      string    `json:"status"`
	GiveawayID  int64     `json:"giveaway_id"`
	Commitment  Hash      `json:"commitment"`
	CommittedAt time.Time `json:"committed_at"`
	ChainHash   Hash      `json:"chain_hash"`
	BeaconDelay uint64    `json:"beacon_delay"`
	MaxTickets  uint64    `json:"max_tickets"`
	RulesSHA256 *Hash     `json:"rules_sha256"`
}

type freezeV2 struct {
	EntrantsCount        uint64       `json:"entrants_count"`
	EntrantsRoot         Hash         `json:"entrants_root"`
	TotalTickets         uint64       `json:"total_tickets"`
	WinnerCountRequested uint64       `json:"winner_count_requested"`
	FrozenAt             time.Time    `json:"frozen_at"`
	BeaconRound          uint64       `json:"beacon_round"`
	FreezeAttested       bool         `json:"freeze_attested"`
	FreezeAttestation    *Attestation `json:"freeze_attestation"`
}

type drawV2 struct {
	ServerSeed      HexBytes   `json:"server_seed"`
	BeaconSignature HexBytes   `json:"beacon_signature"`
	DrawSeed        Hash       `json:"draw_seed"`
	Winners         []pickV2   `json:"winners"`
	Replacements    []redrawV2 `json:"replacements"`
	DrawnAt         time.Time  `json:"drawn_at"`
}

type frozenRecordV2 struct {
	committedV2
	freezeV2
	Log []LogRef `json:"log"`
}

type drawnRecordV2 struct {
	committedV2
	freezeV2
	drawV2
	Log     []LogRef `json:"log"`
	Recheck *Recheck `json:"recheck,omitempty"`
}

func (r Record) committedV2() committedV2 {
	return committedV2{r.Version, r.Status, r.GiveawayID, r.Commitment, r.CommittedAt.UTC(), r.ChainHash, r.BeaconDelay, r.MaxTickets, r.RulesSHA256}
}

func (r Record) freezeV2() freezeV2 {
	return freezeV2{r.EntrantsCount, r.EntrantsRoot, r.TotalTickets, r.WinnerCountRequested, r.FrozenAt.UTC(), r.BeaconRound,
		r.FreezeAttested, r.FreezeAttestation.normalized()}
}

func (r Record) marshalV2() ([]byte, error) {
	switch r.Status {
	case StatusDrawn:
		r = r.normalizedV2()
		d := drawV2{ServerSeed: r.ServerSeed, BeaconSignature: r.BeaconSignature, DrawSeed: r.DrawSeed, DrawnAt: r.DrawnAt,
			Winners: make([]pickV2, len(r.Winners)), Replacements: make([]redrawV2, len(r.Replacements))}
		for i, w := range r.Winners {
			d.Winners[i] = pickV2(w)
		}
		for i, rd := range r.Replacements {
			d.Replacements[i] = rd.v2()
		}
		return json.Marshal(drawnRecordV2{r.committedV2(), r.freezeV2(), d, r.Log, r.Recheck})
	case StatusFrozen:
		return json.Marshal(frozenRecordV2{r.committedV2(), r.freezeV2(), nonNil(r.Log)})
	default:
		return json.Marshal(r.committedV2())
	}
}

func (r *Record) unmarshalV2(data []byte) error {
	var v drawnRecordV2
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	out := Record{
		Version: v.Version, Status: v.Status, GiveawayID: v.GiveawayID, Commitment: v.Commitment, CommittedAt: v.CommittedAt,
		ChainHash: v.ChainHash, BeaconDelay: v.BeaconDelay, MaxTickets: v.MaxTickets, RulesSHA256: v.RulesSHA256,
		EntrantsCount: v.EntrantsCount, EntrantsRoot: v.EntrantsRoot, TotalTickets: v.TotalTickets,
		WinnerCountRequested: v.WinnerCountRequested, FrozenAt: v.FrozenAt, BeaconRound: v.BeaconRound,
		FreezeAttested: v.FreezeAttested, FreezeAttestation: v.FreezeAttestation,
		ServerSeed: v.ServerSeed, BeaconSignature: v.BeaconSignature, DrawSeed: v.DrawSeed, DrawnAt: v.DrawnAt, Log: v.Log, Recheck: v.Recheck,
	}
	if v.Winners != nil {
		out.Winners = make([]Pick, len(v.Winners))
		for i, w := range v.Winners {
			out.Winners[i] = Pick(w)
		}
	}
	if v.Replacements != nil {
		out.Replacements = make([]Redraw, len(v.Replacements))
		for i, rd := range v.Replacements {
			out.Replacements[i] = rd.redraw()
		}
	}
	*r = out.normalizedV2()
	return nil
}

// normalizedV2 returns a copy of the v2 record r in the form it is
// published and decoded in: times in UTC, an empty byte string nil, and,
// for the lists its status publishes, non-nil lists.
func (r Record) normalizedV2() Record {
	r.CommittedAt, r.FrozenAt, r.DrawnAt = r.CommittedAt.UTC(), r.FrozenAt.UTC(), r.DrawnAt.UTC()
	r.FreezeAttestation = r.FreezeAttestation.normalized()
	for _, b := range []*HexBytes{&r.ServerSeed, &r.BeaconSignature, &r.Beacon} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	if r.Status != StatusFrozen && r.Status != StatusDrawn {
		return r
	}
	r.Log = nonNil(r.Log)
	if r.Status != StatusDrawn {
		return r
	}
	r.Winners = nonNil(r.Winners)
	rounds := make([]Redraw, len(r.Replacements))
	for i, rd := range r.Replacements {
		rd.Disqualified = nonNil(rd.Disqualified)
		rd.Replacements = nonNil(rd.Replacements)
		rd.RequestedAt, rd.RedrawnAt = rd.RequestedAt.UTC(), rd.RedrawnAt.UTC()
		rd.RequestAttestation = rd.RequestAttestation.normalized()
		if len(rd.BeaconSignature) == 0 {
			rd.BeaconSignature = nil
		}
		rounds[i] = rd
	}
	r.Replacements = rounds
	return r
}

// checkTime refuses a time that is not whole seconds in years 0..9999, the
// only times a log entry can hold.
func checkTime(name string, t time.Time) error {
	if t.Nanosecond() != 0 {
		return fmt.Errorf("%s %s has fractions of a second", name, t.UTC().Format(time.RFC3339Nano))
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%s is outside the years 0000 to 9999", name)
	}
	return nil
}

// formatTime writes t as a record does.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// periodSeconds returns the chain's period in whole seconds, 0 when it has
// none.
func periodSeconds(c beacon.Chain) uint64 {
	if c.Period < time.Second {
		return 0
	}
	return uint64(c.Period / time.Second)
}

// BeaconRoundAfter returns the beacon round of an event at t with the
// given delay: the first round of the chain whose time is at or after t +
// delay seconds. It returns 0 for a chain without a period.
func BeaconRoundAfter(c beacon.Chain, t time.Time, delay uint64) uint64 {
	// Years 0..9999 and delays up to 2^53-1 seconds stay far inside int64.
	if delay > MaxTotalTickets {
		return 0
	}
	return c.FirstRoundAtOrAfter(time.Unix(t.Unix()+int64(delay), int64(t.Nanosecond())))
}

// CommitInput is what a v2 giveaway commits to.
type CommitInput struct {
	// GiveawayID identifies the giveaway, 1..2^63-1.
	GiveawayID int64
	// ServerSeed is the 32-byte secret; only its SHA-256 is published now.
	ServerSeed []byte
	// CommittedAt is when the commitment is published, whole seconds.
	CommittedAt time.Time
	// Chain is the drand chain the draw waits for; it must pass
	// beacon.Chain.Validate.
	Chain beacon.Chain
	// BeaconDelay is the whole seconds from the freeze to its beacon round:
	// at least one period of the chain, DefaultBeaconDelay when 0.
	BeaconDelay uint64
	// MaxTickets is the most tickets one entrant may hold; 1 when 0.
	MaxTickets uint64
	// RulesSHA256 is the SHA-256 of the giveaway's rules, nil for none.
	RulesSHA256 *Hash
}

// Commit returns the committed v2 record of a giveaway: what is public
// before anyone enters.
func Commit(in CommitInput) (Record, error) {
	if in.BeaconDelay == 0 {
		in.BeaconDelay = DefaultBeaconDelay
	}
	if in.MaxTickets == 0 {
		in.MaxTickets = 1
	}
	switch {
	case in.GiveawayID < 1:
		return Record{}, fmt.Errorf("draw: giveaway id %d is not in 1..2^63-1", in.GiveawayID)
	case len(in.ServerSeed) != 32:
		return Record{}, fmt.Errorf("draw: server seed must be 32 bytes, got %d", len(in.ServerSeed))
	case in.MaxTickets > MaxTotalTickets:
		return Record{}, fmt.Errorf("draw: max_tickets %d exceeds 2^53-1", in.MaxTickets)
	}
	if err := in.Chain.Validate(); err != nil {
		return Record{}, fmt.Errorf("draw: %w", err)
	}
	if p := periodSeconds(in.Chain); in.BeaconDelay < p || in.BeaconDelay > MaxTotalTickets {
		return Record{}, fmt.Errorf("draw: beacon delay of %d s is not between one period (%d s) and 2^53-1 s", in.BeaconDelay, p)
	}
	if err := checkTime("committed_at", in.CommittedAt); err != nil {
		return Record{}, fmt.Errorf("draw: %w", err)
	}
	r := Record{
		Version:     VersionV2,
		Status:      StatusCommitted,
		GiveawayID:  in.GiveawayID,
		Commitment:  Commitment(in.ServerSeed),
		CommittedAt: in.CommittedAt.UTC(),
		ChainHash:   Hash(in.Chain.Hash),
		BeaconDelay: in.BeaconDelay,
		MaxTickets:  in.MaxTickets,
	}
	if in.RulesSHA256 != nil {
		h := *in.RulesSHA256
		r.RulesSHA256 = &h
	}
	return r, nil
}

// checkChain checks that c is the record's pinned chain.
func (r Record) checkChain(c beacon.Chain) error {
	if len(c.Hash) != len(r.ChainHash) || Hash(c.Hash) != r.ChainHash {
		return fmt.Errorf("draw: the chain given is %x, the record's is %s", c.Hash, r.ChainHash)
	}
	return c.Validate()
}

// FreezeInput is what a freeze fixes.
type FreezeInput struct {
	// Entrants is the tree of the eligible entrants with their tickets.
	Entrants *SumTree
	// WinnerCount is the number of winners asked for, at least 1.
	WinnerCount uint64
	// FrozenAt is when registration closed, whole seconds.
	FrozenAt time.Time
	// Chain is the record's chain.
	Chain beacon.Chain
}

// Freeze returns the frozen record of the committed v2 record r: its
// entrants root, N, T, the winner count, the freeze time and the beacon
// round, the first one at or after FrozenAt + beacon_delay. The caller logs
// the freeze entry ([Record.FreezeEntry]), appends it to Log, and sets the
// attestation once the witnesses have cosigned.
func (r Record) Freeze(in FreezeInput) (Record, error) {
	if r.Version != VersionV2 || r.Status != StatusCommitted {
		return Record{}, fmt.Errorf("draw: cannot freeze a %s record with status %q", r.Version, r.Status)
	}
	if in.Entrants == nil {
		return Record{}, errors.New("draw: no entrant tree")
	}
	if err := r.checkChain(in.Chain); err != nil {
		return Record{}, err
	}
	switch {
	case in.WinnerCount == 0 || in.WinnerCount > MaxTotalTickets:
		return Record{}, fmt.Errorf("draw: winner count %d is not in 1..2^53-1", in.WinnerCount)
	case in.Entrants.LargestTickets() > r.MaxTickets:
		return Record{}, fmt.Errorf("draw: an entrant holds %d tickets, more than max_tickets %d", in.Entrants.LargestTickets(), r.MaxTickets)
	case in.FrozenAt.Before(r.CommittedAt):
		return Record{}, errors.New("draw: frozen before committed")
	}
	if err := checkTime("frozen_at", in.FrozenAt); err != nil {
		return Record{}, fmt.Errorf("draw: %w", err)
	}
	root := in.Entrants.Root()
	r.Status = StatusFrozen
	r.EntrantsCount = in.Entrants.Len()
	r.EntrantsRoot = root.Hash
	r.TotalTickets = root.Sum
	r.WinnerCountRequested = in.WinnerCount
	r.FrozenAt = in.FrozenAt.UTC()
	r.BeaconRound = BeaconRoundAfter(in.Chain, r.FrozenAt, r.BeaconDelay)
	r.Log = slices.Clone(r.Log)
	return r.normalizedV2(), nil
}

// BeaconRoundTime returns when the record's beacon round is published on
// chain c: the time to wait for before [Record.DrawWinners].
func (r Record) BeaconRoundTime(c beacon.Chain) time.Time { return c.RoundTime(r.BeaconRound) }

// DrawInput is what the draw of a frozen v2 record needs.
type DrawInput struct {
	// ServerSeed is the committed 32-byte secret.
	ServerSeed []byte
	// Entrants is the frozen entrants' tree.
	Entrants *SumTree
	// BeaconSignature is the beacon round's signature, verified here; nil
	// when there are no entrants, for which no beacon is awaited.
	BeaconSignature []byte
	// DrawnAt is when the winners are drawn, whole seconds.
	DrawnAt time.Time
	// Chain is the record's chain.
	Chain beacon.Chain
}

// DrawWinners returns the drawn record of the frozen v2 record r: the
// seed revealed, the beacon verified, the draw seed derived and the winners
// selected by their tickets. It fails if the tree is not the frozen one,
// the signature is not the beacon round's, or the selection would read more
// than MaxStreamValues stream values.
func (r Record) DrawWinners(in DrawInput) (Record, error) {
	if r.Version != VersionV2 || r.Status != StatusFrozen {
		return Record{}, fmt.Errorf("draw: cannot draw a %s record with status %q", r.Version, r.Status)
	}
	if len(in.ServerSeed) != 32 || Commitment(in.ServerSeed) != r.Commitment {
		return Record{}, errors.New("draw: the server seed does not match the commitment")
	}
	if err := r.matchTree(in.Entrants); err != nil {
		return Record{}, err
	}
	if err := r.checkChain(in.Chain); err != nil {
		return Record{}, err
	}
	if r.EntrantsCount == 0 {
		if len(in.BeaconSignature) != 0 {
			return Record{}, errors.New("draw: no entrants, so no beacon is awaited; give no signature")
		}
	} else if err := in.Chain.Verify(r.BeaconRound, in.BeaconSignature); err != nil {
		return Record{}, fmt.Errorf("draw: %w", err)
	}
	if in.DrawnAt.Before(r.FrozenAt) {
		return Record{}, errors.New("draw: drawn before frozen")
	}
	if err := checkTime("drawn_at", in.DrawnAt); err != nil {
		return Record{}, fmt.Errorf("draw: %w", err)
	}
	r.Status = StatusDrawn
	r.ServerSeed = HexBytes(slices.Clone(in.ServerSeed))
	r.BeaconSignature = HexBytes(slices.Clone(in.BeaconSignature))
	r.DrawSeed = DrawSeedV2(r.ServerSeed, r.GiveawayID, r.EntrantsRoot, r.EntrantsCount, r.TotalTickets,
		r.ChainHash, r.BeaconRound, beacon.Randomness(r.BeaconSignature))
	winners, err := SelectTickets(r.DrawSeed, in.Entrants, r.WinnerCountRequested)
	if err != nil {
		return Record{}, err
	}
	r.Winners = winners
	r.Replacements = []Redraw{}
	r.DrawnAt = in.DrawnAt.UTC()
	return r.normalizedV2(), nil
}

// matchTree checks that t is the tree of the record's entrants.
func (r Record) matchTree(t *SumTree) error {
	if t == nil {
		return errors.New("draw: no entrant tree")
	}
	if root := t.Root(); t.Len() != r.EntrantsCount || root.Hash != r.EntrantsRoot || root.Sum != r.TotalTickets {
		return fmt.Errorf("draw: the entrants (%d, root %s, %d tickets) are not the record's (%d, root %s, %d tickets)",
			t.Len(), root.Hash, root.Sum, r.EntrantsCount, r.EntrantsRoot, r.TotalTickets)
	}
	return nil
}

// lastEventTime is when the record's latest event happened: the draw or
// its latest redraw round.
func (r Record) lastEventTime() time.Time {
	if n := len(r.Replacements); n > 0 {
		return r.Replacements[n-1].RedrawnAt
	}
	return r.DrawnAt
}

// RequestRedraw returns the next redraw round of the drawn v2 record r as
// requested: its number, the disqualified current winners in ascending
// order of position, requestedAt and its beacon round, the first at or
// after requestedAt + beacon_delay. The caller logs its redraw-request
// entry ([Record.RedrawRequestEntry]), has it attested, waits for the
// beacon round and completes it with [Record.CompleteRedraw].
func (r Record) RequestRedraw(disqualified []Disqualification, requestedAt time.Time, c beacon.Chain) (Redraw, error) {
	if r.Version != VersionV2 || r.Status != StatusDrawn {
		return Redraw{}, fmt.Errorf("draw: cannot redraw a %s record with status %q", r.Version, r.Status)
	}
	if err := r.checkChain(c); err != nil {
		return Redraw{}, err
	}
	if err := checkTime("requested_at", requestedAt); err != nil {
		return Redraw{}, fmt.Errorf("draw: %w", err)
	}
	if requestedAt.Before(r.lastEventTime()) {
		return Redraw{}, errors.New("draw: requested before the record's latest event")
	}
	seats := map[int64]int{}
	for _, w := range r.CurrentWinners() {
		seats[w.UserID] = w.Position
	}
	if len(disqualified) == 0 {
		return Redraw{}, errors.New("draw: no winner to disqualify")
	}
	out := slices.Clone(disqualified)
	seen := map[int64]bool{}
	for _, d := range out {
		switch {
		case !d.Reason.Valid():
			return Redraw{}, fmt.Errorf("draw: user %d: %q is not a disqualification reason", d.UserID, d.Reason)
		case seen[d.UserID]:
			return Redraw{}, fmt.Errorf("draw: user %d disqualified twice", d.UserID)
		case seats[d.UserID] == 0:
			return Redraw{}, fmt.Errorf("draw: user %d is not a current winner", d.UserID)
		}
		seen[d.UserID] = true
	}
	slices.SortFunc(out, func(a, b Disqualification) int { return cmp.Compare(seats[a.UserID], seats[b.UserID]) })
	return Redraw{
		Round:        uint64(len(r.Replacements)) + 1,
		Disqualified: out,
		RequestedAt:  requestedAt.UTC(),
		BeaconRound:  BeaconRoundAfter(c, requestedAt, r.BeaconDelay),
		Replacements: []Replacement{},
	}, nil
}

// RedrawInput is what completing a redraw round needs.
type RedrawInput struct {
	// Entrants is the frozen entrants' tree.
	Entrants *SumTree
	// BeaconSignature is the round's beacon round's signature.
	BeaconSignature []byte
	// RedrawnAt is when the replacements are drawn, whole seconds.
	RedrawnAt time.Time
	// Chain is the record's chain.
	Chain beacon.Chain
}

// CompleteRedraw draws the replacements of the round req (as
// [Record.RequestRedraw] returned it, with its RequestAttestation set if it
// was attested) and returns the round; the caller appends it to
// r.Replacements. The record is replayed against the tree first, so an
// inconsistent record cannot be extended.
func (r Record) CompleteRedraw(req Redraw, in RedrawInput) (Redraw, error) {
	want, err := r.RequestRedraw(req.Disqualified, req.RequestedAt, in.Chain)
	if err != nil {
		return Redraw{}, err
	}
	if req.Round != want.Round || req.BeaconRound != want.BeaconRound || !slices.Equal(req.Disqualified, want.Disqualified) {
		return Redraw{}, fmt.Errorf("draw: the request (round %d, beacon round %d) is not the record's next (round %d, beacon round %d, disqualified in position order)",
			req.Round, req.BeaconRound, want.Round, want.BeaconRound)
	}
	if err := r.matchTree(in.Entrants); err != nil {
		return Redraw{}, err
	}
	if err := in.Chain.Verify(req.BeaconRound, in.BeaconSignature); err != nil {
		return Redraw{}, fmt.Errorf("draw: %w", err)
	}
	if in.RedrawnAt.Before(req.RequestedAt) {
		return Redraw{}, errors.New("draw: redrawn before requested")
	}
	if err := checkTime("redrawn_at", in.RedrawnAt); err != nil {
		return Redraw{}, fmt.Errorf("draw: %w", err)
	}
	s := newReplay(r, in.Entrants, MaxStreamValues)
	if verr := s.replayAll(); verr != nil {
		return Redraw{}, fmt.Errorf("draw: record is inconsistent: %w", verr)
	}
	rd := Redraw{
		Round:              want.Round,
		Disqualified:       want.Disqualified,
		RequestedAt:        want.RequestedAt,
		BeaconRound:        want.BeaconRound,
		BeaconSignature:    HexBytes(slices.Clone(in.BeaconSignature)),
		RequestAttestation: req.RequestAttestation,
		RedrawnAt:          in.RedrawnAt.UTC(),
	}
	if rd.Replacements, err = s.replacements(rd); err != nil {
		return Redraw{}, err
	}
	return rd, nil
}

// replacements draws round rd's replacements from the tree, after the
// rounds replayed so far.
func (s *replayV2) replacements(rd Redraw) ([]Replacement, error) {
	st := NewRedrawStream(s.r.DrawSeed, rd.Round, beacon.Randomness(rd.BeaconSignature))
	out := make([]Replacement, len(rd.Disqualified))
	for i, d := range rd.Disqualified {
		w := s.seats[s.byUser[d.UserID]]
		p, ok, err := nextHit(st, s.tree, s.chosen, s.limit)
		if err != nil {
			return nil, err
		}
		out[i] = Replacement{Position: w.Position, ReplacesUserID: w.UserID}
		if ok {
			out[i] = Replacement{Position: w.Position, UserID: p.UserID, Index: p.Index, ReplacesUserID: w.UserID,
				Tickets: p.Tickets, FirstTicket: p.FirstTicket, Ticket: p.Ticket, StreamIndex: p.StreamIndex}
		}
	}
	return out, nil
}

// TicketProof returns the v2 inclusion proof of userID, from the frozen
// entrants' tree, in the frozen or drawn v2 record r; ErrNotEntered when
// the user is not an entrant.
func (r Record) TicketProof(t *SumTree, userID int64) (Proof, error) {
	if err := r.matchTree(t); err != nil {
		return Proof{}, err
	}
	leaf, err := t.Leaf(userID)
	if err != nil {
		return Proof{}, err
	}
	return r.ProofFromLeaf(userID, leaf)
}

// ProofFromLeaf returns the v2 inclusion proof of userID at leaf (from
// [SumTreeCache.Proof] or [SumTree.Leaf]) in the frozen or drawn v2 record
// r, with the user's place among the current winners. The proof is checked
// against the record's root and total first, so a stale cache or list
// cannot produce a proof that fails later.
func (r Record) ProofFromLeaf(userID int64, leaf TicketLeaf) (Proof, error) {
	if r.Version != VersionV2 || (r.Status != StatusFrozen && r.Status != StatusDrawn) {
		return Proof{}, fmt.Errorf("draw: no ticket proof for a %s record with status %q", r.Version, r.Status)
	}
	first, err := VerifyTicketInclusion(userID, leaf.Tickets, leaf.Index, r.EntrantsCount, leaf.Path, r.EntrantsRoot, r.TotalTickets)
	if err != nil {
		return Proof{}, fmt.Errorf("draw: the entrants do not match the record's root: %w", err)
	}
	if first != leaf.FirstTicket {
		return Proof{}, fmt.Errorf("draw: the path puts the first ticket at %d, not %d", first, leaf.FirstTicket)
	}
	p := Proof{
		UserID:       userID,
		LeafIndex:    leaf.Index,
		TreeSize:     r.EntrantsCount,
		EntrantsRoot: r.EntrantsRoot,
		Tickets:      leaf.Tickets,
		FirstTicket:  first,
		TotalTickets: r.TotalTickets,
		SumPath:      nonNil(slices.Clone(leaf.Path)),
	}
	if r.Status == StatusDrawn {
		for _, w := range r.CurrentWinners() {
			if w.UserID == userID {
				p.IsWinner, p.Position = true, w.Position
			}
		}
	}
	return p, nil
}
