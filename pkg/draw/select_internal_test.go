package draw

import (
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
)

// TestNextHitStopsAtTheLimit: two entrants, one holding all but one of
// 2^53-1 tickets. Drawing the second one would take about 2^53 stream
// values; the selection stops at its bound instead of running on.
func TestNextHitStopsAtTheLimit(t *testing.T) {
	tree, err := NewSumTree([]int64{1, 2}, []uint64{1, 1<<53 - 2})
	if err != nil {
		t.Fatal(err)
	}
	st := NewStream(sha256.Sum256([]byte("limit")))
	chosen := newIndexSet(2, true)
	p, ok, err := nextHit(st, tree, chosen, 1000)
	if err != nil || !ok || p.UserID != 2 || p.StreamIndex != 0 {
		t.Fatalf("first pick %+v, %t, %v", p, ok, err)
	}
	if _, _, err := nextHit(st, tree, chosen, 1000); !errors.Is(err, ErrStreamLimit) {
		t.Fatalf("second pick: %v, want ErrStreamLimit", err)
	}
	if st.Consumed() != 1000 {
		t.Errorf("read %d values, want the limit of 1000", st.Consumed())
	}
}

// replayFixture draws k winners over the entrants of gaps (each pair of
// bytes the gap to the next id and its tickets), then two redraw rounds
// disqualifying the winners that the bits of disqualify pick, without a
// beacon: only SHA-256 of a round's signature enters its stream.
func replayFixture(t *testing.T, seedBytes, gaps []byte, k uint16, disqualify uint64) (Record, *SumTree, bool) {
	t.Helper()
	var ids []int64
	var tickets []uint64
	id := int64(1)
	for i := 0; i+1 < len(gaps) && len(ids) < 200; i += 2 {
		id += 1 + int64(gaps[i])
		ids = append(ids, id)
		tickets = append(tickets, 1+uint64(gaps[i+1]%7))
	}
	tree, err := NewSumTree(ids, tickets)
	if err != nil || k == 0 {
		return Record{}, nil, false
	}
	r := Record{Version: VersionV2, Status: StatusDrawn, EntrantsCount: tree.Len(), EntrantsRoot: tree.Root().Hash,
		TotalTickets: tree.TotalTickets(), MaxTickets: 7, WinnerCountRequested: uint64(k), DrawSeed: sha256.Sum256(seedBytes)}
	if r.Winners, err = SelectTickets(r.DrawSeed, tree, r.WinnerCountRequested); err != nil {
		t.Fatal(err)
	}
	for round := uint64(1); round <= 2; round++ {
		var dq []Disqualification
		for _, w := range r.CurrentWinners() {
			if disqualify>>(uint(w.Position-1+int(round)*16)%64)&1 == 1 {
				dq = append(dq, Disqualification{UserID: w.UserID, Reason: ReasonFraud})
			}
		}
		if len(dq) == 0 {
			break
		}
		rd := Redraw{Round: round, Disqualified: dq, BeaconSignature: HexBytes(seedBytes)}
		s := newReplay(r, tree, MaxStreamValues)
		if verr := s.replayAll(); verr != nil {
			t.Fatalf("round %d: the record so far does not replay: %v", round, verr)
		}
		if rd.Replacements, err = s.replacements(rd); err != nil {
			t.Fatal(err)
		}
		r.Replacements = append(r.Replacements, rd)
	}
	return r, tree, true
}

// FuzzReplayV2 holds the two ways of replaying a v2 selection against each
// other: recomputing it from the entrants' tree, and checking it against
// the ticket ranges the record claims, without the list. A drawn record
// passes both; after one field of one pick is changed, a replay with the
// list that passes means the change was none, and the claimed check, which
// knows less, never refuses what the list accepts; a changed stream value
// or stream index is caught by both.
func FuzzReplayV2(f *testing.F) {
	f.Add([]byte("seed"), []byte{0, 3, 1, 0, 1, 2, 0, 9, 4, 0, 7, 7}, uint16(3), uint64(0x30005), uint8(0), uint64(1))
	f.Add([]byte{}, []byte{0, 0, 0, 0}, uint16(9), uint64(1<<63|1<<17|1), uint8(9), uint64(2))
	f.Add([]byte("x"), []byte{5, 6, 200, 1, 3, 3, 9, 0}, uint16(4), uint64(0xffffffffffffffff), uint8(20), uint64(1<<40))
	f.Fuzz(func(t *testing.T, seedBytes, gaps []byte, k uint16, disqualify uint64, field uint8, xor uint64) {
		r, tree, ok := replayFixture(t, seedBytes, gaps, k, disqualify)
		if !ok {
			return
		}
		if err := newReplay(r, tree, MaxStreamValues).replayAll(); err != nil {
			t.Fatalf("with the list: %v", err)
		}
		if err := newReplay(r, nil, MaxStreamValues).replayAll(); err != nil {
			t.Fatalf("without the list: %v", err)
		}
		// Pick one pick of the record and change one of its fields.
		var picks []*Pick
		for i := range r.Winners {
			picks = append(picks, &r.Winners[i])
		}
		var repl []*Replacement
		for i := range r.Replacements {
			for j := range r.Replacements[i].Replacements {
				if !r.Replacements[i].Replacements[j].Empty() {
					repl = append(repl, &r.Replacements[i].Replacements[j])
				}
			}
		}
		n := len(picks) + len(repl)
		if n == 0 || xor == 0 {
			return
		}
		target := int(field/8) % n
		kind := field % 6
		limit := uint64(1 << 12)
		r2 := r
		r2.Winners = append([]Pick(nil), r.Winners...)
		r2.Replacements = make([]Redraw, len(r.Replacements))
		for i, rd := range r.Replacements {
			rd.Replacements = append([]Replacement(nil), rd.Replacements...)
			r2.Replacements[i] = rd
		}
		var fields []*uint64
		var user *int64
		if target < len(picks) {
			p := &r2.Winners[target]
			fields, user = []*uint64{&p.Ticket, &p.StreamIndex, &p.Index, &p.Tickets, &p.FirstTicket}, &p.UserID
		} else {
			var p *Replacement
			for i := range r2.Replacements {
				for j := range r2.Replacements[i].Replacements {
					if &r.Replacements[i].Replacements[j] == repl[target-len(picks)] {
						p = &r2.Replacements[i].Replacements[j]
					}
				}
			}
			fields, user = []*uint64{&p.Ticket, &p.StreamIndex, &p.Index, &p.Tickets, &p.FirstTicket}, &p.UserID
		}
		if kind == 5 {
			*user ^= int64(xor & (1<<62 - 1))
		} else {
			*fields[kind] ^= xor % limit
		}
		exact := newReplay(r2, tree, limit).replayAll()
		claimed := newReplay(r2, nil, limit).replayAll()
		if exact == nil && !equalPicks(r, r2) {
			t.Fatalf("the list accepts a changed record (field %d)", kind)
		}
		if exact == nil && claimed != nil {
			t.Fatalf("the claimed check refuses what the list accepts: %v", claimed)
		}
		if kind <= 1 && !equalPicks(r, r2) && claimed == nil {
			t.Fatalf("a changed %s passed the claimed check", []string{"ticket", "stream index"}[kind])
		}
	})
}

func equalPicks(a, b Record) bool {
	if !slices.Equal(a.Winners, b.Winners) || len(a.Replacements) != len(b.Replacements) {
		return false
	}
	for i := range a.Replacements {
		if !slices.Equal(a.Replacements[i].Replacements, b.Replacements[i].Replacements) {
			return false
		}
	}
	return true
}
