package draw

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"

	"github.com/telegive/participant-service/pkg/beacon"
)

// MaxStreamValues bounds the stream values one v2 selection (the initial
// draw, or one redraw round) reads: 2^28, about half a minute of HMAC on
// one core. Drawing k winners needs about k values when no entrant holds a
// large share of the tickets, but a draw of nearly everyone where a few
// entrants hold most tickets needs ever more; [Record.DrawWinners] and
// [Record.CompleteRedraw] fail with ErrStreamLimit rather than run past the
// bound, and [Verify] refuses stream indices beyond it (or beyond
// VerifyOptions.MaxStreamValues).
const MaxStreamValues = 1 << 28

// ErrStreamLimit is returned when a selection would read more than
// MaxStreamValues stream values.
var ErrStreamLimit = errors.New("draw: the selection needs more than MaxStreamValues stream values")

// SelectTickets returns the first min(k, N) winners of the v2 draw with the
// given seed over the entrants of t, in position order: each stream value
// x = uniform(T) hits the entrant whose ticket range holds x, and an
// entrant not chosen before becomes the next winner.
func SelectTickets(seed Hash, t *SumTree, k uint64) ([]Pick, error) {
	k = min(k, t.Len())
	st := NewStream(seed)
	chosen := newIndexSet(t.Len(), true)
	out := make([]Pick, 0, k)
	for j := range k {
		p, _, err := nextHit(st, t, chosen, MaxStreamValues)
		if err != nil {
			return nil, err
		}
		p.Position = int(j + 1)
		out = append(out, p)
	}
	return out, nil
}

// nextHit reads the stream until a value hits an entrant not in chosen,
// adds it and returns it without a position; false when every entrant is
// chosen, and ErrStreamLimit once limit values have been read.
func nextHit(st *Stream, t *SumTree, chosen *indexSet, limit uint64) (Pick, bool, error) {
	if chosen.len() >= t.Len() {
		return Pick{}, false, nil
	}
	for {
		if st.Consumed() >= limit {
			return Pick{}, false, ErrStreamLimit
		}
		x := st.Uniform(t.total)
		i := t.Holder(x)
		if chosen.has(i) {
			continue
		}
		chosen.add(i)
		id, tk, first := t.Entrant(i)
		return Pick{UserID: id, Index: i, Tickets: tk, FirstTicket: first, Ticket: x, StreamIndex: st.Consumed() - 1}, true, nil
	}
}

// An indexSet holds entrant indices: a bitmap when the entrants are known
// (N bits), a map when N is only claimed by a record and may be huge.
type indexSet struct {
	bits []uint64
	m    map[uint64]struct{}
	n    uint64
}

func newIndexSet(size uint64, dense bool) *indexSet {
	if dense {
		return &indexSet{bits: make([]uint64, (size+63)/64)}
	}
	return &indexSet{m: make(map[uint64]struct{})}
}

func (s *indexSet) has(i uint64) bool {
	if s.bits != nil {
		return s.bits[i/64]&(1<<(i%64)) != 0
	}
	_, ok := s.m[i]
	return ok
}

func (s *indexSet) add(i uint64) {
	if s.has(i) {
		return
	}
	if s.bits != nil {
		s.bits[i/64] |= 1 << (i % 64)
	} else {
		s.m[i] = struct{}{}
	}
	s.n++
}

func (s *indexSet) len() uint64 { return s.n }

// A span is the ticket range a record claims for a chosen entrant.
type span struct{ index, first, tickets uint64 }

// replayV2 re-derives a v2 record's winners and replacements, step by
// step, and holds who sits where. With the entrants' tree every pick is
// recomputed and compared; without it the record's own ticket ranges stand
// in for the list: each value the stream skips must fall in the range of an
// entrant chosen before, each pick's value in its own range, and the ranges
// must fit some list of N entrants holding 1 to max_tickets tickets each
// and T in all. Only the user ids and ranges themselves are then taken on
// trust.
type replayV2 struct {
	r      Record
	tree   *SumTree // nil: no entrant list
	limit  uint64
	chosen *indexSet
	users  map[int64]bool // every user ever chosen
	spans  []span         // without the tree: the chosen ranges, by index
	seats  map[int]Pick   // current winner by position
	byUser map[int64]int  // position by current winner
}

func newReplay(r Record, t *SumTree, limit uint64) *replayV2 {
	return &replayV2{
		r:      r,
		tree:   t,
		limit:  limit,
		chosen: newIndexSet(r.EntrantsCount, t != nil),
		users:  make(map[int64]bool),
		seats:  make(map[int]Pick),
		byUser: make(map[int64]int),
	}
}

// replayAll checks the winners and every redraw round's selection.
func (s *replayV2) replayAll() *VerifyError {
	if err := s.winners(); err != nil {
		return err
	}
	for n := range s.r.Replacements {
		if err := s.round(n); err != nil {
			return err
		}
	}
	return nil
}

// winners checks the initial draw.
func (s *replayV2) winners() *VerifyError {
	r := s.r
	if r.WinnerCountRequested == 0 || r.WinnerCountRequested > MaxTotalTickets {
		return failf("winners", "winner_count_requested is %d, expected 1 to 2^53-1", r.WinnerCountRequested)
	}
	k := min(r.WinnerCountRequested, r.EntrantsCount)
	if n := uint64(len(r.Winners)); n != k {
		return failf("winners", "expected min(winner_count_requested, entrants_count) = %d winners, got %d", k, n)
	}
	st := NewStream(r.DrawSeed)
	for j, w := range r.Winners {
		if w.Position != j+1 {
			return failf("winners", "winner %d: expected position %d, got %d", j+1, j+1, w.Position)
		}
		if reason := s.take(st, w, false); reason != "" {
			return failf("winners", "position %d: %s", w.Position, reason)
		}
		s.seats[w.Position] = w
		s.byUser[w.UserID] = w.Position
	}
	return nil
}

// round checks the selection of redraw round n+1: whom it disqualifies and
// whom it draws. Its beacon, timing and attestation are Verify's.
func (s *replayV2) round(n int) *VerifyError {
	rd := s.r.Replacements[n]
	fail := func(format string, args ...any) *VerifyError {
		return failf("replacements", "round %d: "+format, append([]any{n + 1}, args...)...)
	}
	if rd.Round != uint64(n+1) {
		return fail("expected round number %d, got %d", n+1, rd.Round)
	}
	if len(rd.Disqualified) == 0 {
		return fail("no winner is disqualified")
	}
	gone := make([]Pick, len(rd.Disqualified))
	last := 0
	for i, d := range rd.Disqualified {
		pos := s.byUser[d.UserID]
		switch {
		case !d.Reason.Valid():
			return fail("user %d: %q is not a disqualification reason", d.UserID, d.Reason)
		case pos == 0:
			return fail("user %d is not a current winner", d.UserID)
		case pos <= last:
			return fail("the disqualified winners are not listed once each in ascending position (user %d at position %d after position %d)", d.UserID, pos, last)
		}
		last = pos
		gone[i] = s.seats[pos]
	}
	if len(rd.Replacements) != len(gone) {
		return fail("expected %d replacements, one per disqualified winner, got %d", len(gone), len(rd.Replacements))
	}
	for _, w := range gone {
		delete(s.seats, w.Position)
		delete(s.byUser, w.UserID)
	}
	st := NewRedrawStream(s.r.DrawSeed, rd.Round, beacon.Randomness(rd.BeaconSignature))
	for i, w := range gone {
		p := rd.Replacements[i]
		switch {
		case p.Position != w.Position:
			return fail("replacement %d: expected position %d, got %d", i+1, w.Position, p.Position)
		case p.ReplacesUserID != w.UserID:
			return fail("position %d: expected to replace user %d, got %d", w.Position, w.UserID, p.ReplacesUserID)
		case p.Empty() && p.Index|p.Tickets|p.FirstTicket|p.Ticket|p.StreamIndex != 0:
			return fail("position %d is empty (user_id null) but records an entrant's index, tickets or stream value", w.Position)
		}
		pick := Pick{Position: p.Position, UserID: p.UserID, Index: p.Index, Tickets: p.Tickets, FirstTicket: p.FirstTicket,
			Ticket: p.Ticket, StreamIndex: p.StreamIndex}
		if reason := s.take(st, pick, p.Empty()); reason != "" {
			return fail("position %d: %s", w.Position, reason)
		}
		if !p.Empty() {
			s.seats[p.Position] = pick
			s.byUser[p.UserID] = p.Position
		}
	}
	return nil
}

// take checks that the next pick of stream st is rec, or that no entrant is
// left when empty, and records the pick as chosen. It returns why not.
func (s *replayV2) take(st *Stream, rec Pick, empty bool) string {
	n := s.r.EntrantsCount
	left := n - s.chosen.len()
	switch {
	case left == 0 && !empty:
		return fmt.Sprintf("every entrant was chosen before, so the position stays empty, but the record names user %d", rec.UserID)
	case left == 0:
		return ""
	case empty:
		return fmt.Sprintf("%d entrants are still unchosen, but the record leaves the position empty", left)
	case rec.UserID < 1:
		return fmt.Sprintf("%d is not a user id", rec.UserID)
	case rec.StreamIndex >= s.limit:
		return fmt.Sprintf("stream index %d is beyond the %d values a selection may read", rec.StreamIndex, s.limit)
	case rec.StreamIndex < st.Consumed():
		return fmt.Sprintf("stream index %d does not follow the previous pick's (%d values read)", rec.StreamIndex, st.Consumed())
	}
	var reason string
	if s.tree != nil {
		reason = s.takeExact(st, rec)
	} else {
		reason = s.takeClaimed(st, rec)
	}
	if reason != "" {
		return reason
	}
	if s.users[rec.UserID] {
		return fmt.Sprintf("user %d was chosen before", rec.UserID)
	}
	s.users[rec.UserID] = true
	return ""
}

// takeExact recomputes the pick from the entrants' tree.
func (s *replayV2) takeExact(st *Stream, rec Pick) string {
	got, _, err := nextHit(st, s.tree, s.chosen, rec.StreamIndex+1)
	if err != nil {
		return fmt.Sprintf("the stream hits no unchosen entrant up to value %d, where the record has user %d", rec.StreamIndex, rec.UserID)
	}
	switch {
	case got.StreamIndex != rec.StreamIndex:
		return fmt.Sprintf("expected stream index %d, got %d", got.StreamIndex, rec.StreamIndex)
	case got.Ticket != rec.Ticket:
		return fmt.Sprintf("expected ticket %d, got %d", got.Ticket, rec.Ticket)
	case got.Index != rec.Index:
		return fmt.Sprintf("expected index %d, got %d", got.Index, rec.Index)
	case got.UserID != rec.UserID:
		return fmt.Sprintf("expected user %d, got %d", got.UserID, rec.UserID)
	case got.Tickets != rec.Tickets:
		return fmt.Sprintf("user %d: expected %d tickets, got %d", got.UserID, got.Tickets, rec.Tickets)
	case got.FirstTicket != rec.FirstTicket:
		return fmt.Sprintf("user %d: expected first ticket %d, got %d", got.UserID, got.FirstTicket, rec.FirstTicket)
	}
	return ""
}

// takeClaimed checks the pick against the stream and the ranges the record
// claims, without the list.
func (s *replayV2) takeClaimed(st *Stream, rec Pick) string {
	total := s.r.TotalTickets
	if total == 0 || total > MaxTotalTickets {
		return fmt.Sprintf("no selection over a total of %d tickets", total)
	}
	for {
		if st.Consumed() > rec.StreamIndex {
			return fmt.Sprintf("stream value %d is rejected by uniform(T = %d), so no winner has that stream index", rec.StreamIndex, total)
		}
		x := st.Uniform(total)
		si := st.Consumed() - 1
		if si > rec.StreamIndex {
			return fmt.Sprintf("stream value %d is rejected by uniform(T = %d), so no winner has that stream index", rec.StreamIndex, total)
		}
		if s.inChosen(x) {
			if si == rec.StreamIndex {
				return fmt.Sprintf("stream value %d is ticket %d, held by an entrant chosen before", si, x)
			}
			continue
		}
		if si < rec.StreamIndex {
			return fmt.Sprintf("stream value %d is ticket %d, which no entrant chosen before holds, so it picks this position, not stream value %d", si, x, rec.StreamIndex)
		}
		if x != rec.Ticket {
			return fmt.Sprintf("stream value %d is ticket %d, the record says %d", si, x, rec.Ticket)
		}
		if x < rec.FirstTicket || x-rec.FirstTicket >= rec.Tickets {
			return fmt.Sprintf("ticket %d is not among user %d's tickets [%d, %d)", x, rec.UserID, rec.FirstTicket, rec.FirstTicket+rec.Tickets)
		}
		if reason := s.addSpan(span{rec.Index, rec.FirstTicket, rec.Tickets}); reason != "" {
			return reason
		}
		s.chosen.add(rec.Index)
		return ""
	}
}

// inChosen reports whether ticket x lies in the range of an entrant chosen
// before.
func (s *replayV2) inChosen(x uint64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].first > x })
	if i == 0 {
		return false
	}
	sp := s.spans[i-1]
	return x-sp.first < sp.tickets
}

// addSpan adds the claimed range of a newly chosen entrant, refusing one
// that no list of N entrants with 1 to max_tickets tickets each and T in
// all could give, alongside the ranges claimed before.
func (s *replayV2) addSpan(sp span) string {
	n, total, most := s.r.EntrantsCount, s.r.TotalTickets, s.r.MaxTickets
	switch {
	case sp.tickets == 0 || sp.tickets > most:
		return fmt.Sprintf("entrant index %d holds %d tickets, not 1 to max_tickets (%d)", sp.index, sp.tickets, most)
	case sp.index >= n:
		return fmt.Sprintf("index %d is not below entrants_count %d", sp.index, n)
	case sp.first > total || sp.tickets > total-sp.first:
		return fmt.Sprintf("entrant index %d's tickets [%d, %d) run past T = %d", sp.index, sp.first, sp.first+sp.tickets, total)
	}
	pos := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].index >= sp.index })
	if pos < len(s.spans) && s.spans[pos].index == sp.index {
		return fmt.Sprintf("entrant index %d was chosen before", sp.index)
	}
	// The entrants strictly between two chosen ones (or an end) hold the
	// tickets strictly between their ranges, 1 to max_tickets each.
	gap := func(what string, entrants, loTicket, hiTicket uint64) string {
		if hiTicket < loTicket {
			return fmt.Sprintf("entrant index %d's tickets [%d, %d) overlap those of %s", sp.index, sp.first, sp.first+sp.tickets, what)
		}
		t := hiTicket - loTicket
		if hi, lo := bits.Mul64(entrants, most); t < entrants || hi == 0 && t > lo {
			return fmt.Sprintf("entrant index %d's tickets [%d, %d) leave %d tickets to the %d entrants between it and %s, who hold 1 to %d each",
				sp.index, sp.first, sp.first+sp.tickets, t, entrants, what, most)
		}
		return ""
	}
	var reason string
	if pos > 0 {
		p := s.spans[pos-1]
		reason = gap(fmt.Sprintf("entrant index %d", p.index), sp.index-p.index-1, p.first+p.tickets, sp.first)
	} else {
		reason = gap("the start of the list", sp.index, 0, sp.first)
	}
	if reason != "" {
		return reason
	}
	if pos < len(s.spans) {
		q := s.spans[pos]
		reason = gap(fmt.Sprintf("entrant index %d", q.index), q.index-sp.index-1, sp.first+sp.tickets, q.first)
	} else {
		reason = gap("the end of the list", n-1-sp.index, sp.first+sp.tickets, total)
	}
	if reason != "" {
		return reason
	}
	s.spans = append(s.spans, span{})
	copy(s.spans[pos+1:], s.spans[pos:])
	s.spans[pos] = sp
	return ""
}
