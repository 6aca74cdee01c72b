package draw_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

func TestRedrawStreamBlocks(t *testing.T) {
	s := seed("redraw blocks", 0)
	rand := sha256.Sum256([]byte("randomness"))
	st := draw.NewRedrawStream(s, 3, rand)
	for block := range uint64(3) {
		mac := hmac.New(sha256.New, s[:])
		msg := binary.BigEndian.AppendUint64([]byte("redraw"), 3)
		msg = append(msg, rand[:]...)
		msg = binary.BigEndian.AppendUint64(append(msg, "stream"...), block)
		mac.Write(msg)
		b := mac.Sum(nil)
		for v := range 4 {
			if got, want := st.Uint64(), binary.BigEndian.Uint64(b[8*v:]); got != want {
				t.Fatalf("block %d value %d = %d, want %d", block, v, got, want)
			}
		}
	}
}

func TestDrawSeedV2Message(t *testing.T) {
	server := []byte("0123456789abcdef0123456789abcdef")
	root, chain, rand := sha256.Sum256([]byte("root")), sha256.Sum256([]byte("chain")), sha256.Sum256([]byte("rand"))
	mac := hmac.New(sha256.New, server)
	msg := []byte("telegive-draw-v2")
	for _, v := range []uint64{1 << 62, 7, 19} {
		if v == 7 {
			msg = append(msg, root[:]...)
		}
		msg = binary.BigEndian.AppendUint64(msg, v)
	}
	msg = append(msg, chain[:]...)
	msg = binary.BigEndian.AppendUint64(msg, 12345)
	mac.Write(append(msg, rand[:]...))
	if got := draw.DrawSeedV2(server, 1<<62, root, 7, 19, chain, 12345, rand); got != draw.Hash(mac.Sum(nil)) {
		t.Errorf("DrawSeedV2 = %s, want %x", got, mac.Sum(nil))
	}
}

// TestTicketsWinInProportion: an entrant holding t of T tickets wins a
// single-winner draw with probability t/T. Over 20,000 fixed seeds the
// Pearson statistic with 5 degrees of freedom exceeds 40 with probability
// about 1.5e-7 under a correct implementation; a selection that ignored
// the tickets, or hit the wrong range, pushes it into the thousands.
func TestTicketsWinInProportion(t *testing.T) {
	ids := []int64{11, 22, 33, 44, 55, 66}
	tickets := []uint64{1, 2, 3, 4, 10, 5}
	tree, err := draw.NewSumTree(ids, tickets)
	if err != nil {
		t.Fatal(err)
	}
	const draws = 20000
	counts := make([]int, len(ids))
	for d := range draws {
		w, err := draw.SelectTickets(seed("tickets chi", d), tree, 1)
		if err != nil {
			t.Fatal(err)
		}
		counts[w[0].Index]++
	}
	var x float64
	for i, c := range counts {
		exp := float64(draws) * float64(tickets[i]) / float64(tree.TotalTickets())
		d := float64(c) - exp
		x += d * d / exp
	}
	t.Logf("chi-square %.1f, counts %v", x, counts)
	if x > 40 {
		t.Errorf("chi-square %.1f > 40, counts %v for tickets %v", x, counts, tickets)
	}
}

// TestSelectTicketsProperties: winners are distinct, each hit by its own
// ticket, in stream order; k >= N gives every entrant.
func TestSelectTicketsProperties(t *testing.T) {
	for trial := range 60 {
		r := rand.New(rand.NewPCG(uint64(trial), 3))
		n := 1 + r.IntN(40)
		ids, tickets := ticketList(n, uint64(1+r.IntN(6)), uint64(trial))
		if trial%3 == 0 {
			tickets = nil
		}
		tree, err := draw.NewSumTree(ids, tickets)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []uint64{1, uint64(n / 2), uint64(n), uint64(n + 3)} {
			if k == 0 {
				continue
			}
			w, err := draw.SelectTickets(seed("select props", trial), tree, k)
			if err != nil {
				t.Fatal(err)
			}
			if want := min(k, uint64(n)); uint64(len(w)) != want {
				t.Fatalf("trial %d: %d winners for k=%d, n=%d", trial, len(w), k, n)
			}
			seen := map[uint64]bool{}
			for j, p := range w {
				id, tk, first := tree.Entrant(p.Index)
				switch {
				case seen[p.Index]:
					t.Fatalf("trial %d: entrant %d won twice", trial, p.Index)
				case p.Position != j+1 || p.UserID != id || p.Tickets != tk || p.FirstTicket != first:
					t.Fatalf("trial %d: winner %+v is not entrant %d (%d, %d, %d)", trial, p, p.Index, id, tk, first)
				case p.Ticket < first || p.Ticket >= first+tk || tree.Holder(p.Ticket) != p.Index:
					t.Fatalf("trial %d: ticket %d not held by the winner %+v", trial, p.Ticket, p)
				case j > 0 && p.StreamIndex <= w[j-1].StreamIndex:
					t.Fatalf("trial %d: stream indices not increasing at %d", trial, j)
				}
				seen[p.Index] = true
			}
			if k >= uint64(n) && len(seen) != n {
				t.Fatalf("trial %d: k=%d >= n=%d but %d entrants won", trial, k, n, len(seen))
			}
		}
	}
}

// TestVerifyV2RandomDraws draws, redraws until the entrants run out, and
// verifies each record with the list and without it: the check of the
// ticket ranges the record claims must agree with the recomputation.
func TestVerifyV2RandomDraws(t *testing.T) {
	for trial := range 8 {
		r := rand.New(rand.NewPCG(uint64(trial), 17))
		n := 2 + r.IntN(12)
		ids, tickets := ticketList(n, 5, uint64(trial)+100)
		k := uint64(1 + r.IntN(n))
		b := buildV2(t, v2Spec{name: "random", giveawayID: int64(100 + trial), ids: ids, tickets: tickets, maxTickets: 5, k: k, delay: 10,
			drawRound: 1000, rounds: []v2RoundSpec{
				{positions: []int{1}, reasons: []draw.Reason{draw.ReasonAdmin}, round: 12040883},
				{positions: []int{1, 2, 3, 4, 5, 6, 7, 8}, reasons: []draw.Reason{draw.ReasonFraud}, round: 32281667},
				{positions: []int{1, 2, 3, 4, 5, 6, 7, 8}, reasons: []draw.Reason{draw.ReasonPremiumRequired}, round: 32285085},
			}})
		if err := draw.Verify(b.record, b.opts); err != nil {
			t.Fatalf("trial %d with the list: %v", trial, err)
		}
		if err := draw.Verify(b.record, draw.VerifyOptions{}); err != nil {
			t.Fatalf("trial %d without the list: %v", trial, err)
		}
		if err := draw.Verify(b.record, draw.VerifyOptions{Proofs: b.proofs(t)}); err != nil {
			t.Fatalf("trial %d with proofs: %v", trial, err)
		}
		// Every position is filled while unchosen entrants remain.
		chosen := len(b.record.Winners)
		for _, rd := range b.record.Replacements {
			for _, p := range rd.Replacements {
				if p.Empty() != (chosen == n) {
					t.Fatalf("trial %d: position %d empty=%t with %d of %d chosen", trial, p.Position, p.Empty(), chosen, n)
				}
				if !p.Empty() {
					chosen++
				}
			}
		}
	}
}
