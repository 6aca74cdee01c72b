package drawlog

import (
	"crypto/sha256"
	"fmt"
	"math/bits"
)

// A Rule names one of the per-giveaway rules a [Checker] enforces.
type Rule string

// The rules.
const (
	// RuleIndexOrder: entries are fed in ascending log index.
	RuleIndexOrder Rule = "index-order"
	// RuleFirstEntry: a giveaway's first entry is a commit or a legacy.
	RuleFirstEntry Rule = "first-entry"
	// RuleOneCommit: a giveaway has one commit (or legacy) entry.
	RuleOneCommit Rule = "one-commit"
	// RuleOneFreeze: at most one freeze, never after the draw.
	RuleOneFreeze Rule = "one-freeze"
	// RuleFreezeBeforeDraw: a draw follows the giveaway's freeze.
	RuleFreezeBeforeDraw Rule = "freeze-before-draw"
	// RuleOneDraw: at most one draw.
	RuleOneDraw Rule = "one-draw"
	// RuleRedrawOrder: redraw requests come after the draw, numbered 1, 2,
	// ..., each after the previous round's redraw.
	RuleRedrawOrder Rule = "redraw-order"
	// RuleRedrawAfterRequest: a redraw completes the pending request of the
	// same round.
	RuleRedrawAfterRequest Rule = "redraw-after-request"
	// RuleSeq: seq is 0 for the first entry, then one more each time.
	RuleSeq Rule = "seq"
	// RulePrev: prev is null for the first entry, then the log index of the
	// giveaway's previous entry.
	RulePrev Rule = "prev"
	// RuleCommitment: the freeze repeats the commit's commitment and the
	// draw's server seed hashes to it.
	RuleCommitment Rule = "commitment"
	// RuleVersion: the entry has its giveaway's version's shape (v1:
	// beacon_round null and total_tickets = entrants_count; v2: beacon_round
	// set, the draw's equal to the freeze's, and total_tickets at most
	// entrants_count * max_tickets).
	RuleVersion Rule = "version"
	// RuleWinners: the draw has min(winner_count, entrants_count) winners;
	// a request disqualifies current winners, in ascending position; a
	// redraw has one replacement per disqualified winner, never an entrant
	// chosen before.
	RuleWinners Rule = "winners"
)

// A RuleError reports an entry that breaks a rule of its giveaway's history.
type RuleError struct {
	GiveawayID int64
	// Index is the offending entry's log index.
	Index  uint64
	Rule   Rule
	Detail string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("drawlog: giveaway %d, entry %d: rule %s: %s", e.GiveawayID, e.Index, e.Rule, e.Detail)
}

// An IndexedEntry is an entry with its log index.
type IndexedEntry struct {
	Index uint64
	Entry Entry
}

// CheckGiveawayHistory runs a [Checker] over entries in log order and returns
// the first violation, a *RuleError.
func CheckGiveawayHistory(entries []IndexedEntry) error {
	c := NewChecker()
	for _, e := range entries {
		if err := c.Add(e.Index, e.Entry); err != nil {
			return err
		}
	}
	return nil
}

// A Checker checks the per-giveaway rules of a log fed to it entry by entry
// in ascending index: the whole log (a monitor) or a subset such as one
// giveaway's entries (a verifier). It keeps a few fields and the current
// winners of each giveaway it has seen. It checks what the entries alone
// show; whether the beacon round follows from frozen_at and the chain, and
// whether the winners follow from the seeds, need the beacon and the
// entrants and are the verifier's.
//
// A legacy giveaway's record is outside the log, so after a legacy entry
// the checker allows either a freeze and a draw (a record that was only
// committed) or redraw rounds straight away (a record already drawn), whose
// disqualified winners it cannot check.
type Checker struct {
	last      uint64
	started   bool
	giveaways map[int64]*giveaway
}

type giveaway struct {
	lastIndex   uint64
	seq         uint64
	legacy      bool
	commit      Commit
	freeze      *Freeze
	drawn       bool
	rounds      uint64 // redraw rounds completed
	pending     *RedrawRequest
	seats       []int64 // current winner by position-1; 0 when empty
	chosen      map[int64]bool
	winnersKnow bool // false for a legacy record drawn outside the log
}

// NewChecker returns a Checker that has seen no entries.
func NewChecker() *Checker {
	return &Checker{giveaways: make(map[int64]*giveaway)}
}

// Add checks the entry at the given log index against the history of its
// giveaway seen so far, and records it. A violation is returned as a
// *RuleError; the entry is then not recorded.
func (c *Checker) Add(index uint64, e Entry) error {
	h := e.Head()
	fail := func(rule Rule, format string, args ...any) error {
		return &RuleError{GiveawayID: h.GiveawayID, Index: index, Rule: rule, Detail: fmt.Sprintf(format, args...)}
	}
	if c.started && index <= c.last {
		return fail(RuleIndexOrder, "index %d does not follow %d", index, c.last)
	}
	g := c.giveaways[h.GiveawayID]
	if g == nil {
		switch e.Type() {
		case TypeCommit, TypeLegacy:
		default:
			return fail(RuleFirstEntry, "the giveaway's first entry is a %s, not a commit or legacy", e.Type())
		}
		if h.Seq != 0 {
			return fail(RuleSeq, "the first entry has seq %d, not 0", h.Seq)
		}
		if h.Prev != nil {
			return fail(RulePrev, "the first entry has prev %d, not null", *h.Prev)
		}
	} else {
		if h.Seq != g.seq+1 {
			return fail(RuleSeq, "seq %d does not follow %d", h.Seq, g.seq)
		}
		if h.Prev == nil || *h.Prev != g.lastIndex {
			return fail(RulePrev, "prev is %s, not %d, the giveaway's previous entry", prevString(h.Prev), g.lastIndex)
		}
	}
	next, err := step(g, e, fail)
	if err != nil {
		return err
	}
	next.lastIndex, next.seq = index, h.Seq
	c.giveaways[h.GiveawayID] = next
	c.last, c.started = index, true
	return nil
}

func prevString(p *uint64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

type failFunc func(rule Rule, format string, args ...any) error

// step applies e to a copy of g's state, or reports the rule it breaks.
func step(g *giveaway, e Entry, fail failFunc) (*giveaway, error) {
	if g == nil {
		switch e := deref(e).(type) {
		case Commit:
			return &giveaway{commit: e, winnersKnow: true}, nil
		case Legacy:
			return &giveaway{legacy: true, commit: Commit{Version: VersionV1}}, nil
		}
	}
	n := *g
	v2 := n.commit.Version == VersionV2
	switch e := deref(e).(type) {
	case Commit, Legacy:
		return nil, fail(RuleOneCommit, "a second %s entry", e.Type())
	case Freeze:
		if n.freeze != nil {
			return nil, fail(RuleOneFreeze, "a second freeze")
		}
		if n.drawn || n.rounds > 0 || n.pending != nil {
			return nil, fail(RuleOneFreeze, "a freeze after the draw")
		}
		if !n.legacy && e.Commitment != n.commit.Commitment {
			return nil, fail(RuleCommitment, "the freeze's commitment %s is not the commit's %s", e.Commitment, n.commit.Commitment)
		}
		if err := checkFreezeShape(n.commit, e, v2, fail); err != nil {
			return nil, err
		}
		n.freeze = &e
		n.winnersKnow = true
	case Draw:
		if n.drawn {
			return nil, fail(RuleOneDraw, "a second draw")
		}
		if n.freeze == nil {
			return nil, fail(RuleFreezeBeforeDraw, "a draw without a freeze")
		}
		if sha256.Sum256(e.ServerSeed[:]) != n.freeze.Commitment {
			return nil, fail(RuleCommitment, "SHA-256 of the server seed is not the commitment %s", n.freeze.Commitment)
		}
		if err := checkBeaconShape(v2, e.BeaconRound, fail); err != nil {
			return nil, err
		}
		if v2 && *e.BeaconRound != *n.freeze.BeaconRound {
			return nil, fail(RuleVersion, "the draw's beacon_round %d is not the freeze's %d", *e.BeaconRound, *n.freeze.BeaconRound)
		}
		if want := min(n.freeze.WinnerCount, n.freeze.EntrantsCount); uint64(len(e.Winners)) != want {
			return nil, fail(RuleWinners, "%d winners, want min(winner_count, entrants_count) = %d", len(e.Winners), want)
		}
		n.drawn = true
		n.seats = append([]int64(nil), e.Winners...)
		n.chosen = make(map[int64]bool, len(e.Winners))
		for _, w := range e.Winners {
			n.chosen[w] = true
		}
	case RedrawRequest:
		if !n.drawn && !(n.legacy && n.freeze == nil) {
			return nil, fail(RuleRedrawOrder, "a redraw request before the draw")
		}
		if n.pending != nil {
			return nil, fail(RuleRedrawOrder, "round %d requested while round %d awaits its redraw", e.Round, n.pending.Round)
		}
		// A legacy record may hold rounds made before the log, so its first
		// logged round may have any number.
		if e.Round != n.rounds+1 && !(n.legacy && !n.drawn && n.rounds == 0) {
			return nil, fail(RuleRedrawOrder, "round %d requested, want round %d", e.Round, n.rounds+1)
		}
		if err := checkBeaconShape(v2, e.BeaconRound, fail); err != nil {
			return nil, err
		}
		if n.winnersKnow {
			last := 0
			for _, d := range e.Disqualified {
				pos := position(n.seats, d.UserID)
				if pos == 0 {
					return nil, fail(RuleWinners, "user %d is not a current winner", d.UserID)
				}
				if pos < last {
					return nil, fail(RuleWinners, "disqualified winners are not in ascending position")
				}
				last = pos
			}
		}
		n.pending = &e
	case Redraw:
		if n.pending == nil {
			return nil, fail(RuleRedrawAfterRequest, "a redraw of round %d without its request", e.Round)
		}
		if e.Round != n.pending.Round {
			return nil, fail(RuleRedrawAfterRequest, "a redraw of round %d, but round %d is requested", e.Round, n.pending.Round)
		}
		if len(e.Replacements) != len(n.pending.Disqualified) {
			return nil, fail(RuleWinners, "%d replacements for %d disqualified winners", len(e.Replacements), len(n.pending.Disqualified))
		}
		if n.winnersKnow {
			seats := append([]int64(nil), n.seats...)
			chosen := make(map[int64]bool, len(n.chosen)+len(e.Replacements))
			for id := range n.chosen {
				chosen[id] = true
			}
			for i, r := range e.Replacements {
				if r != NoReplacement {
					if chosen[r] {
						return nil, fail(RuleWinners, "replacement %d was chosen before", r)
					}
					chosen[r] = true
				}
				// The request was checked against these seats, so each
				// disqualified winner still holds one.
				if pos := position(seats, n.pending.Disqualified[i].UserID); pos > 0 {
					seats[pos-1] = r
				}
			}
			n.seats, n.chosen = seats, chosen
		}
		n.rounds, n.pending = e.Round, nil
	}
	return &n, nil
}

// position returns the 1-based position of a current winner, or 0.
func position(seats []int64, userID int64) int {
	for i, s := range seats {
		if s == userID && s != NoReplacement {
			return i + 1
		}
	}
	return 0
}

func checkFreezeShape(commit Commit, e Freeze, v2 bool, fail failFunc) error {
	if err := checkBeaconShape(v2, e.BeaconRound, fail); err != nil {
		return err
	}
	if !v2 {
		if e.TotalTickets != e.EntrantsCount {
			return fail(RuleVersion, "a v1 freeze has total_tickets %d, not entrants_count %d", e.TotalTickets, e.EntrantsCount)
		}
		return nil
	}
	if hi, lo := bits.Mul64(e.EntrantsCount, commit.MaxTickets); hi == 0 && e.TotalTickets > lo {
		return fail(RuleVersion, "total_tickets %d is above entrants_count %d times max_tickets %d", e.TotalTickets, e.EntrantsCount, commit.MaxTickets)
	}
	return nil
}

func checkBeaconShape(v2 bool, round *uint64, fail failFunc) error {
	switch {
	case v2 && round == nil:
		return fail(RuleVersion, "a v2 giveaway's beacon_round is null")
	case !v2 && round != nil:
		return fail(RuleVersion, "a v1 giveaway's beacon_round is %d, not null", *round)
	}
	return nil
}

// deref turns a pointer to an entry into the entry.
func deref(e Entry) Entry {
	switch p := e.(type) {
	case *Commit:
		return *p
	case *Freeze:
		return *p
	case *Draw:
		return *p
	case *RedrawRequest:
		return *p
	case *Redraw:
		return *p
	case *Legacy:
		return *p
	}
	return e
}
