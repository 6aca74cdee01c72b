package draw

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
)

// VerifyOptions holds the optional evidence that lets [Verify] check more,
// and for v2 the keys it checks against.
type VerifyOptions struct {
	// Entrants is the full ascending entrant list. When set, the entrant
	// count and root are recomputed and every winner's user id is checked.
	Entrants []int64
	// Proofs are inclusion proofs to check against the record. A proof also
	// checks the user id the record names at its leaf, and the index the
	// record gives its user (and in v2 the tickets and first ticket).
	Proofs []Proof

	// The fields below are used for v2 records only.

	// Tickets holds the tickets of each of Entrants, in the same order;
	// nil means one ticket each.
	Tickets []uint64
	// Chain is the pinned drand chain; nil pins beacon.Quicknet(). A record
	// on any other chain fails the "chain" check.
	Chain *beacon.Chain
	// LogKey verifies the draw log's checkpoint signatures
	// (drawlog.NewLogVerifier), pinned out of band.
	LogKey note.Verifier
	// Witnesses verify the witnesses' cosignature/v1 lines
	// (drawlog.NewWitnessVerifier), and Quorum is how many of them must
	// have cosigned in time; 0 means all. Without LogKey and Witnesses the
	// attestations are not checked, and [Skipped] says so.
	Witnesses []note.Verifier
	Quorum    int
	// LogEntries holds the giveaway's log entries, raw bytes by log index,
	// to check that they say what the record says. Entries the record names
	// but the map lacks go unchecked, and [Skipped] says so.
	LogEntries map[uint64][]byte
	// MaxStreamValues bounds the stream values one selection may take;
	// 0 means MaxStreamValues, the bound the drawer keeps to.
	MaxStreamValues uint64
}

// A VerifyError reports the first check of [Verify] that failed.
type VerifyError struct {
	// Check names the failed check. For v1: "version", "status",
	// "commitment", "timing", "entrants", "draw_seed", "winners",
	// "replacements" or "proof". For v2, in the order they run:
	// "version", "status", "commitment", "chain", "timing",
	// "beacon_round", "beacon", "attestation", "total_tickets",
	// "entrants", "draw_seed", "winners", "replacements" (each round's
	// timing, beacon round, beacon, attestation and replacements), "proof"
	// and "log".
	Check string
	// Reason says what differed.
	Reason string
}

// Error returns the check and the reason, separated by a colon.
func (e *VerifyError) Error() string { return e.Check + ": " + e.Reason }

func failf(check, format string, args ...any) *VerifyError {
	return &VerifyError{Check: check, Reason: fmt.Sprintf(format, args...)}
}

// A Skip is a check that Verify could not make with the evidence given,
// and why: what a verdict must then say it took on trust.
type Skip struct {
	Check  string
	Reason string
}

// String returns the check and the reason, separated by a colon.
func (s Skip) String() string { return s.Check + ": " + s.Reason }

// A Report is what [VerifyReport] found.
type Report struct {
	// Checks names the checks made and passed, in order.
	Checks []string
	// Skipped lists the checks not made, each with its reason; never one
	// of Checks.
	Skipped []Skip
	// Unchecked lists the user ids the record names that no evidence tied
	// to their entrant indices, as [Unchecked] does.
	Unchecked []Claim
}

func (rep *Report) pass(check string) { rep.Checks = append(rep.Checks, check) }

// Verify recomputes everything in r that follows from its published fields,
// and from opts when given. It returns nil or a *VerifyError for the first
// failed check; the checks run in the order listed on [VerifyError.Check].
// Each reason names the recomputed value first and the record's second.
//
// A nil error does not by itself say who won. The record alone fixes the
// entrant index of every winner and replacement (in v2 with the ticket
// range it claims), not the user id at it: only opts.Entrants, or a proof
// of the entrant at that index, checks that. [Unchecked] lists the user ids
// Verify took on trust, and [Skipped] every check it could not make; a
// verdict shown to a person must name them rather than call the draw
// verified. [VerifyReport] returns all three at once.
func Verify(r Record, opts VerifyOptions) error {
	_, err := VerifyReport(r, opts)
	return err
}

// VerifyReport is [Verify] that also reports the checks made, those
// skipped and the claims taken on trust. On failure the report lists the
// checks passed before it.
func VerifyReport(r Record, opts VerifyOptions) (Report, error) {
	var rep Report
	var err *VerifyError
	switch r.Version {
	case Version:
		err = verifyV1(r, opts, &rep)
	case VersionV2:
		err = verifyV2(r, opts, &rep)
	default:
		err = failf("version", "expected %q or %q, got %q", Version, VersionV2, r.Version)
	}
	if err != nil {
		return rep, err
	}
	rep.Skipped = Skipped(r, opts)
	rep.Unchecked = Unchecked(r, opts)
	return rep, nil
}

// verifyV1 is the v1 verification, unchanged since v1.
func verifyV1(r Record, opts VerifyOptions, rep *Report) *VerifyError {
	if r.Version != Version {
		return failf("version", "expected %q, got %q", Version, r.Version)
	}
	rep.pass("version")
	if r.Status != StatusDrawn {
		return failf("status", "expected %q, got %q", StatusDrawn, r.Status)
	}
	rep.pass("status")
	if len(r.ServerSeed) != 32 {
		return failf("commitment", "server seed is %d bytes, expected 32", len(r.ServerSeed))
	}
	if c := Commitment(r.ServerSeed); c != r.Commitment {
		return failf("commitment", "SHA-256 of the server seed is %s, commitment is %s", c, r.Commitment)
	}
	rep.pass("commitment")
	if r.CommittedAt.After(r.DrawnAt) {
		return failf("timing", "committed at %s, after the draw at %s",
			r.CommittedAt.UTC().Format(time.RFC3339Nano), r.DrawnAt.UTC().Format(time.RFC3339Nano))
	}
	rep.pass("timing")
	if opts.Entrants != nil {
		if err := checkEntrants(opts.Entrants); err != nil {
			return failf("entrants", "%v", err)
		}
		if n := uint64(len(opts.Entrants)); n != r.EntrantsCount {
			return failf("entrants", "the list has %d entrants, the record says %d", n, r.EntrantsCount)
		}
		if root := Root(opts.Entrants); root != r.EntrantsRoot {
			return failf("entrants", "the list hashes to root %s, the record says %s", root, r.EntrantsRoot)
		}
		rep.pass("entrants")
	}
	if s := DrawSeed(r.ServerSeed, r.GiveawayID, r.EntrantsRoot, r.EntrantsCount, r.Beacon); s != r.DrawSeed {
		return failf("draw_seed", "recomputed %s, the record says %s", s, r.DrawSeed)
	}
	rep.pass("draw_seed")
	if _, err := r.replay(opts.Entrants); err != nil {
		return err
	}
	rep.pass("winners")
	rep.pass("replacements")
	if err := verifyProofs(r, opts.Proofs); err != nil {
		return err
	}
	if len(opts.Proofs) > 0 {
		rep.pass("proof")
	}
	return nil
}

// Skipped returns the checks Verify(r, opts) could not make with the
// evidence in opts, each with its reason. Like [Unchecked] it is
// meaningful once Verify(r, opts) has returned nil.
func Skipped(r Record, opts VerifyOptions) []Skip {
	var out []Skip
	if opts.Entrants == nil {
		what := "the root was not recomputed from the entrant list, so that it holds each entrant once is taken on trust"
		if r.Version == VersionV2 {
			what = "the root, entrants_count and total_tickets were not recomputed from the entrant list, so that it holds each entrant once with their tickets is taken on trust"
		}
		out = append(out, Skip{"entrants", what})
	}
	if u := Unchecked(r, opts); len(u) > 0 {
		what := "the draw seed fixes the entrant index of each winner, not who stands there"
		if r.Version == VersionV2 {
			what = "the draw seed and the ticket ranges the record claims fix each winner's entrant index, not who stands there nor that they held those tickets"
		}
		out = append(out, Skip{"winners", fmt.Sprintf("%d user ids are taken on trust: %s; the entrant list or their inclusion proofs would check them", len(u), what)})
	}
	if r.Version == VersionV2 {
		out = append(out, skippedV2(r, opts)...)
	}
	return out
}

// A Claim is a user id that a record names at an entrant index: an initial
// winner or a replacement. The draw seed fixes the index; only the entrant
// list or an inclusion proof shows who stands there.
type Claim struct {
	// Round is 0 for the initial draw and n for the n-th redraw round.
	Round int
	// Position is the winner's rank, from 1.
	Position int
	// UserID is the user the record names.
	UserID int64
	// Index is the entrant index the draw seed picked, from 0.
	Index uint64
	// Tickets and FirstTicket are the ticket range a v2 record claims for
	// the user, [FirstTicket, FirstTicket + Tickets); 0 in v1.
	Tickets, FirstTicket uint64
}

// place names the claim's round and position.
func (c Claim) place() string {
	if c.Round == 0 {
		return fmt.Sprintf("position %d", c.Position)
	}
	return fmt.Sprintf("round %d, position %d", c.Round, c.Position)
}

// String describes the claim, as in "round 1, position 2: user 1006 at
// entrant index 7"; an initial winner has no round.
func (c Claim) String() string {
	if c.Tickets > 0 {
		return fmt.Sprintf("%s: user %d at entrant index %d with tickets [%d, %d)", c.place(), c.UserID, c.Index, c.FirstTicket, c.FirstTicket+c.Tickets)
	}
	return fmt.Sprintf("%s: user %d at entrant index %d", c.place(), c.UserID, c.Index)
}

// Claims returns every user id r names at an index: the initial winners in
// position order, then each redraw round's replacements in order, including
// those disqualified since.
//
// In v2 a claim also carries the ticket range the record gives the user,
// and an empty position is no claim.
func (r Record) Claims() []Claim {
	out := make([]Claim, 0, len(r.Winners))
	v2 := r.Version == VersionV2
	for _, w := range r.Winners {
		c := Claim{Position: w.Position, UserID: w.UserID, Index: w.Index}
		if v2 {
			c.Tickets, c.FirstTicket = w.Tickets, w.FirstTicket
		}
		out = append(out, c)
	}
	for n, rd := range r.Replacements {
		for _, p := range rd.Replacements {
			c := Claim{Round: n + 1, Position: p.Position, UserID: p.UserID, Index: p.Index}
			if v2 {
				if p.Empty() {
					continue
				}
				c.Tickets, c.FirstTicket = p.Tickets, p.FirstTicket
			}
			out = append(out, c)
		}
	}
	return out
}

// Unchecked returns the claims of r whose user ids Verify(r, opts) took on
// trust: none when opts.Entrants is given, and otherwise every claim that
// no proof in opts.Proofs places at its index. It is meaningful only once
// Verify(r, opts) has returned nil, since it does not check the proofs
// itself.
//
// For a v2 record a proof settles a claim only if it also gives the
// claim's tickets and first ticket.
func Unchecked(r Record, opts VerifyOptions) []Claim {
	if opts.Entrants != nil {
		return nil
	}
	type leaf struct {
		index         uint64
		user          int64
		tickets, from uint64
	}
	v2 := r.Version == VersionV2
	proven := make(map[leaf]bool, len(opts.Proofs))
	for _, p := range opts.Proofs {
		l := leaf{index: p.LeafIndex, user: p.UserID}
		if v2 {
			l.tickets, l.from = p.Tickets, p.FirstTicket
		}
		proven[l] = true
	}
	var out []Claim
	for _, c := range r.Claims() {
		if !proven[leaf{c.Index, c.UserID, c.Tickets, c.FirstTicket}] {
			out = append(out, c)
		}
	}
	return out
}

func verifyProofs(r Record, proofs []Proof) *VerifyError {
	if len(proofs) == 0 {
		return nil
	}
	winners := make(map[int64]Pick)
	for _, w := range r.CurrentWinners() {
		winners[w.UserID] = w
	}
	// replay has checked that the claims' indices are distinct.
	byIndex := make(map[uint64]Claim)
	byUser := make(map[int64][]Claim)
	for _, c := range r.Claims() {
		byIndex[c.Index] = c
		byUser[c.UserID] = append(byUser[c.UserID], c)
	}
	for _, p := range proofs {
		if p.TreeSize != r.EntrantsCount {
			return failf("proof", "user %d: expected tree size %d, got %d", p.UserID, r.EntrantsCount, p.TreeSize)
		}
		if p.EntrantsRoot != r.EntrantsRoot {
			return failf("proof", "user %d: expected root %s, got %s", p.UserID, r.EntrantsRoot, p.EntrantsRoot)
		}
		if err := VerifyInclusion(p.UserID, p.LeafIndex, p.TreeSize, p.AuditPath, r.EntrantsRoot); err != nil {
			return failf("proof", "user %d: %v", p.UserID, err)
		}
		// A valid proof says who stands at its leaf, which settles every
		// claim about that leaf or that user, disqualified ones included.
		if c, ok := byIndex[p.LeafIndex]; ok && c.UserID != p.UserID {
			return failf("proof", "%s: the inclusion proof of entrant index %d is for user %d, the record names user %d",
				c.place(), p.LeafIndex, p.UserID, c.UserID)
		}
		for _, c := range byUser[p.UserID] {
			if c.Index != p.LeafIndex {
				return failf("proof", "%s: the inclusion proof puts user %d at entrant index %d, the record at index %d",
					c.place(), p.UserID, p.LeafIndex, c.Index)
			}
		}
		w, won := winners[p.UserID]
		switch {
		case won != p.IsWinner:
			return failf("proof", "user %d: expected is_winner %t, got %t", p.UserID, won, p.IsWinner)
		case w.Position != p.Position:
			return failf("proof", "user %d: expected position %d, got %d", p.UserID, w.Position, p.Position)
		}
	}
	return nil
}

// A selection re-derives the picks of a record step by step, tracking who
// holds each position.
type selection struct {
	perm  *Permutation
	seats map[int]Pick        // current winner by position
	users map[int64]int       // position by current winner
	out   map[uint64]struct{} // indices disqualified in any round so far
}

// replay re-derives r's winners and redraw rounds, checking each against
// the record (and the user ids against entrants when not nil), and returns
// the state after the last round.
func (r Record) replay(entrants []int64) (*selection, *VerifyError) {
	s := &selection{
		perm:  NewPermutation(r.DrawSeed, r.EntrantsCount),
		seats: make(map[int]Pick, len(r.Winners)),
		users: make(map[int64]int, len(r.Winners)),
		out:   make(map[uint64]struct{}),
	}
	if r.WinnerCountRequested == 0 {
		return nil, failf("winners", "winner_count_requested is 0")
	}
	k := min(r.WinnerCountRequested, r.EntrantsCount)
	if n := uint64(len(r.Winners)); n != k {
		return nil, failf("winners", "expected %d winners, got %d", k, n)
	}
	for j, w := range r.Winners {
		i, _ := s.perm.Next()
		if w.Position != j+1 {
			return nil, failf("winners", "winner %d: expected position %d, got %d", j+1, j+1, w.Position)
		}
		if w.Index != i {
			return nil, failf("winners", "position %d: expected index %d, got %d", j+1, i, w.Index)
		}
		if entrants != nil && w.UserID != entrants[i] {
			return nil, failf("winners", "position %d: expected user %d, got %d", j+1, entrants[i], w.UserID)
		}
		if err := s.seat(w); err != nil {
			return nil, failf("winners", "position %d: %v", j+1, err)
		}
	}
	for n, rd := range r.Replacements {
		want, err := s.round(rd.DisqualifiedUserIDs)
		if err != nil {
			return nil, failf("replacements", "round %d: %v", n+1, err)
		}
		if len(rd.Replacements) != len(want) {
			return nil, failf("replacements", "round %d: expected %d replacements, got %d", n+1, len(want), len(rd.Replacements))
		}
		for i, got := range rd.Replacements {
			w := want[i]
			switch {
			case got.Position != w.Position:
				return nil, failf("replacements", "round %d, replacement %d: expected position %d, got %d", n+1, i+1, w.Position, got.Position)
			case got.Index != w.Index:
				return nil, failf("replacements", "round %d, position %d: expected index %d, got %d", n+1, w.Position, w.Index, got.Index)
			case got.ReplacesUserID != w.ReplacesUserID:
				return nil, failf("replacements", "round %d, position %d: expected to replace user %d, got %d", n+1, w.Position, w.ReplacesUserID, got.ReplacesUserID)
			case entrants != nil && got.UserID != entrants[w.Index]:
				return nil, failf("replacements", "round %d, position %d: expected user %d, got %d", n+1, w.Position, entrants[w.Index], got.UserID)
			}
			if err := s.seat(Pick{Position: got.Position, UserID: got.UserID, Index: got.Index}); err != nil {
				return nil, failf("replacements", "round %d, position %d: %v", n+1, w.Position, err)
			}
		}
	}
	return s, nil
}

// seat makes p the current winner at its position. Without the entrant list
// user ids are not checked against indices, so a repeated one is the only
// inconsistency left to catch here.
func (s *selection) seat(p Pick) error {
	if pos, ok := s.users[p.UserID]; ok {
		return fmt.Errorf("user %d already holds position %d", p.UserID, pos)
	}
	s.seats[p.Position] = p
	s.users[p.UserID] = p.Position
	return nil
}

// round applies one redraw round: it unseats the disqualified winners and
// draws their replacements, whose UserID is left for the caller to fill in
// and seat.
func (s *selection) round(disqualified []int64) ([]Replacement, error) {
	if len(disqualified) == 0 {
		return nil, errors.New("no winner to disqualify")
	}
	gone := make([]Pick, 0, len(disqualified))
	seen := make(map[int64]bool, len(disqualified))
	for _, id := range disqualified {
		if seen[id] {
			return nil, fmt.Errorf("user %d disqualified twice", id)
		}
		seen[id] = true
		pos, ok := s.users[id]
		if !ok {
			return nil, fmt.Errorf("user %d is not a current winner", id)
		}
		gone = append(gone, s.seats[pos])
	}
	slices.SortFunc(gone, func(a, b Pick) int { return cmp.Compare(a.Position, b.Position) })
	for _, w := range gone {
		s.out[w.Index] = struct{}{}
		delete(s.seats, w.Position)
		delete(s.users, w.UserID)
	}
	repl := []Replacement{}
	for _, w := range gone {
		i, ok := s.next()
		if !ok {
			break
		}
		repl = append(repl, Replacement{Position: w.Position, Index: i, ReplacesUserID: w.UserID})
	}
	return repl, nil
}

// next returns the next step of the shuffle whose entrant is not
// disqualified, and false once the entrants have run out.
func (s *selection) next() (uint64, bool) {
	for {
		i, ok := s.perm.Next()
		if !ok {
			return 0, false
		}
		if _, out := s.out[i]; !out {
			return i, true
		}
	}
}
