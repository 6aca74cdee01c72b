package draw

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// VerifyOptions holds the optional evidence that lets [Verify] check more.
type VerifyOptions struct {
	// Entrants is the full ascending entrant list. When set, the entrant
	// count and root are recomputed and every winner's user id is checked.
	Entrants []int64
	// Proofs are inclusion proofs to check against the record.
	Proofs []Proof
}

// A VerifyError reports the first check of [Verify] that failed.
type VerifyError struct {
	// Check names the failed check: "version", "status", "commitment",
	// "timing", "entrants", "draw_seed", "winners", "replacements" or
	// "proof".
	Check string
	// Reason says what differed.
	Reason string
}

// Error returns the check and the reason, separated by a colon.
func (e *VerifyError) Error() string { return e.Check + ": " + e.Reason }

func failf(check, format string, args ...any) *VerifyError {
	return &VerifyError{Check: check, Reason: fmt.Sprintf(format, args...)}
}

// Verify recomputes everything in r that follows from its published fields,
// and from opts when given. It returns nil or a *VerifyError for the first
// failed check; the checks run in the order listed on [VerifyError.Check].
// Each reason names the recomputed value first and the record's second.
//
// Without opts.Entrants, the winners' user ids are taken on trust: the
// indices are checked, and a proof for a winner ties its user id to its
// index.
func Verify(r Record, opts VerifyOptions) error {
	if r.Version != Version {
		return failf("version", "expected %q, got %q", Version, r.Version)
	}
	if r.Status != StatusDrawn {
		return failf("status", "expected %q, got %q", StatusDrawn, r.Status)
	}
	if len(r.ServerSeed) != 32 {
		return failf("commitment", "server seed is %d bytes, expected 32", len(r.ServerSeed))
	}
	if c := Commitment(r.ServerSeed); c != r.Commitment {
		return failf("commitment", "SHA-256 of the server seed is %s, commitment is %s", c, r.Commitment)
	}
	if r.CommittedAt.After(r.DrawnAt) {
		return failf("timing", "committed at %s, after the draw at %s",
			r.CommittedAt.UTC().Format(time.RFC3339Nano), r.DrawnAt.UTC().Format(time.RFC3339Nano))
	}
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
	}
	if s := DrawSeed(r.ServerSeed, r.GiveawayID, r.EntrantsRoot, r.EntrantsCount, r.Beacon); s != r.DrawSeed {
		return failf("draw_seed", "recomputed %s, the record says %s", s, r.DrawSeed)
	}
	if _, err := r.replay(opts.Entrants); err != nil {
		return err
	}
	return verifyProofs(r, opts.Proofs)
}

func verifyProofs(r Record, proofs []Proof) error {
	if len(proofs) == 0 {
		return nil
	}
	winners := make(map[int64]Pick)
	for _, w := range r.CurrentWinners() {
		winners[w.UserID] = w
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
		w, won := winners[p.UserID]
		switch {
		case won != p.IsWinner:
			return failf("proof", "user %d: expected is_winner %t, got %t", p.UserID, won, p.IsWinner)
		case w.Position != p.Position:
			return failf("proof", "user %d: expected position %d, got %d", p.UserID, w.Position, p.Position)
		case won && w.Index != p.LeafIndex:
			return failf("proof", "user %d: won at index %d, proof is for leaf %d", p.UserID, w.Index, p.LeafIndex)
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
