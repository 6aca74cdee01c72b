package draw_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

// refSumTree is the Merkle sum tree computed straight from the protocol's
// wording: recursive, split at the largest power of two below n.
func refSumTree(ids []int64, tickets []uint64) (draw.Hash, uint64) {
	switch len(ids) {
	case 0:
		return sha256.Sum256(nil), 0
	case 1:
		b := []byte{0}
		b = binary.BigEndian.AppendUint64(b, uint64(ids[0]))
		b = binary.BigEndian.AppendUint64(b, tickets[0])
		return sha256.Sum256(b), tickets[0]
	}
	k := refSplit(len(ids))
	lh, ls := refSumTree(ids[:k], tickets[:k])
	rh, rs := refSumTree(ids[k:], tickets[k:])
	b := []byte{1}
	b = append(b, lh[:]...)
	b = binary.BigEndian.AppendUint64(b, ls)
	b = append(b, rh[:]...)
	b = binary.BigEndian.AppendUint64(b, rs)
	return sha256.Sum256(b), ls + rs
}

// refSumPath is the audit path of leaf m from the leaf upwards, by the
// recursive definition of RFC 6962 section 2.1.1.
func refSumPath(m int, ids []int64, tickets []uint64) []draw.Node {
	if len(ids) <= 1 {
		return nil
	}
	k := refSplit(len(ids))
	if m < k {
		h, s := refSumTree(ids[k:], tickets[k:])
		return append(refSumPath(m, ids[:k], tickets[:k]), draw.Node{Hash: h, Sum: s})
	}
	h, s := refSumTree(ids[:k], tickets[:k])
	return append(refSumPath(m-k, ids[k:], tickets[k:]), draw.Node{Hash: h, Sum: s})
}

// ticketList returns n sparse ascending ids and their tickets, 1..most.
func ticketList(n int, most uint64, seed uint64) ([]int64, []uint64) {
	r := rand.New(rand.NewPCG(seed, 11))
	ids := make([]int64, n)
	tickets := make([]uint64, n)
	var id int64 = 1000
	for i := range ids {
		id += 1 + r.Int64N(1000)
		ids[i] = id
		tickets[i] = 1 + r.Uint64N(most)
	}
	return ids, tickets
}

func ones(n int) []uint64 {
	t := make([]uint64, n)
	for i := range t {
		t[i] = 1
	}
	return t
}

func prefix(tickets []uint64, i int) uint64 {
	var s uint64
	for _, t := range tickets[:i] {
		s += t
	}
	return s
}

func TestSumTreeMatchesReference(t *testing.T) {
	for n := 0; n <= 70; n++ {
		ids, tickets := ticketList(n, 9, uint64(n))
		for _, tk := range [][]uint64{tickets, nil} {
			full := tk
			if tk == nil {
				full = ones(n)
			}
			tree, err := draw.NewSumTree(ids, tk)
			if err != nil {
				t.Fatal(err)
			}
			wantHash, wantSum := refSumTree(ids, full)
			if got := tree.Root(); got != (draw.Node{Hash: wantHash, Sum: wantSum}) {
				t.Fatalf("n=%d: root %+v, want %s/%d", n, got, wantHash, wantSum)
			}
			if tree.TotalTickets() != wantSum || tree.Len() != uint64(n) {
				t.Fatalf("n=%d: %d tickets, %d entrants", n, tree.TotalTickets(), tree.Len())
			}
			for i := range n {
				leaf, err := tree.Leaf(ids[i])
				if err != nil {
					t.Fatal(err)
				}
				wantPath := nonNilNodes(refSumPath(i, ids, full))
				if leaf.Index != uint64(i) || leaf.Tickets != full[i] || leaf.FirstTicket != prefix(full, i) || !slices.Equal(leaf.Path, wantPath) {
					t.Fatalf("n=%d i=%d: leaf %+v, want first %d path %v", n, i, leaf, prefix(full, i), wantPath)
				}
				first, err := draw.VerifyTicketInclusion(ids[i], full[i], uint64(i), uint64(n), leaf.Path, wantHash, wantSum)
				if err != nil || first != prefix(full, i) {
					t.Fatalf("n=%d i=%d: VerifyTicketInclusion = %d, %v; want %d", n, i, first, err, prefix(full, i))
				}
				path, err := draw.SumInclusionProof(ids, tk, uint64(i))
				if err != nil || !slices.Equal(path, wantPath) {
					t.Fatalf("n=%d i=%d: SumInclusionProof = %v, %v", n, i, path, err)
				}
				// Every ticket of the entrant leads back to it.
				for x := prefix(full, i); x < prefix(full, i+1); x++ {
					if h := tree.Holder(x); h != uint64(i) {
						t.Fatalf("n=%d: ticket %d held by %d, want %d", n, x, h, i)
					}
				}
				if id, tk, first := tree.Entrant(uint64(i)); id != ids[i] || tk != full[i] || first != prefix(full, i) {
					t.Fatalf("n=%d: Entrant(%d) = %d %d %d", n, i, id, tk, first)
				}
			}
		}
	}
}

func nonNilNodes(p []draw.Node) []draw.Node {
	if p == nil {
		return []draw.Node{}
	}
	return p
}

// TestSumTreeLarge crosses the parallel and chunk boundaries.
func TestSumTreeLarge(t *testing.T) {
	for _, n := range []int{1023, 1024, 1025, 40_000, 70_001} {
		ids, tickets := ticketList(n, 5, uint64(n))
		tree, err := draw.NewSumTree(ids, tickets)
		if err != nil {
			t.Fatal(err)
		}
		h, s := refSumTree(ids, tickets)
		if tree.Root() != (draw.Node{Hash: h, Sum: s}) {
			t.Fatalf("n=%d: root differs from the reference", n)
		}
		c := tree.Cache()
		if c.Root() != tree.Root() {
			t.Fatalf("n=%d: cache root differs", n)
		}
		b, _ := c.MarshalBinary()
		var back draw.SumTreeCache
		if err := back.UnmarshalBinary(b); err != nil || back.Root() != tree.Root() {
			t.Fatalf("n=%d: cache round trip: %v", n, err)
		}
		for _, i := range []int{0, n / 3, n - 1, min(1024, n-1)} {
			chunk, first, length, ok := back.ChunkOf(ids[i])
			if !ok {
				t.Fatalf("n=%d: no chunk for %d", n, i)
			}
			lo, _ := slices.BinarySearch(ids, first)
			leaf, err := back.Proof(chunk, ids[lo:lo+length], tickets[lo:lo+length], ids[i])
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tree.Leaf(ids[i])
			if leaf.Index != uint64(i) || leaf.FirstTicket != prefix(tickets, i) || !slices.Equal(leaf.Path, want.Path) {
				t.Fatalf("n=%d i=%d: cached proof %+v differs from the tree's", n, i, leaf)
			}
			if x := prefix(tickets, i) + tickets[i] - 1; tree.Holder(x) != uint64(i) {
				t.Fatalf("n=%d: last ticket of %d held by %d", n, i, tree.Holder(x))
			}
		}
	}
}

func TestSumTreeRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		ids     []int64
		tickets []uint64
	}{
		"zero tickets":   {[]int64{1, 2}, []uint64{1, 0}},
		"unsorted":       {[]int64{2, 1}, []uint64{1, 1}},
		"duplicate":      {[]int64{2, 2}, nil},
		"id 0":           {[]int64{0}, nil},
		"short tickets":  {[]int64{1, 2}, []uint64{1}},
		"over 2^53-1":    {[]int64{1, 2}, []uint64{1 << 52, 1 << 52}},
		"uint64 wraps":   {[]int64{1, 2}, []uint64{1<<64 - 1, 2}},
		"one over 2^53":  {[]int64{1}, []uint64{1 << 53}},
		"sum just above": {[]int64{1, 2, 3}, []uint64{1<<53 - 3, 1, 2}},
	} {
		if _, err := draw.NewSumTree(c.ids, c.tickets); err == nil {
			t.Errorf("%s: NewSumTree accepted %v %v", name, c.ids, c.tickets)
		}
	}
	if tr, err := draw.NewSumTree([]int64{1, 2}, []uint64{1<<53 - 2, 1}); err != nil || tr.TotalTickets() != 1<<53-1 {
		t.Errorf("a total of exactly 2^53-1: %v", err)
	}
	empty, err := draw.NewSumTree(nil, nil)
	if err != nil || empty.Root() != draw.EmptySumRoot || empty.Root().Hash != sha256.Sum256(nil) {
		t.Errorf("empty tree: %+v, %v", empty, err)
	}
	if _, err := empty.Leaf(5); !errors.Is(err, draw.ErrNotEntered) {
		t.Errorf("empty tree Leaf: %v", err)
	}
	if _, err := draw.SumNode(draw.Node{Sum: 1 << 52}, draw.Node{Sum: 1 << 52}); err == nil {
		t.Error("SumNode accepted a sum above 2^53-1")
	}
}

func TestVerifyTicketInclusionRejects(t *testing.T) {
	ids, tickets := ticketList(300, 7, 3)
	tree, _ := draw.NewSumTree(ids, tickets)
	root := tree.Root()
	const i = 123
	leaf, _ := tree.Leaf(ids[i])
	path := leaf.Path
	bump := func(k int, f func(*draw.Node)) []draw.Node {
		p := slices.Clone(path)
		f(&p[k])
		return p
	}
	cases := []struct {
		name    string
		user    int64
		tickets uint64
		index   uint64
		size    uint64
		path    []draw.Node
		total   uint64
	}{
		{"other user", ids[i] + 1, tickets[i], i, 300, path, root.Sum},
		{"more tickets", ids[i], tickets[i] + 1, i, 300, path, root.Sum},
		{"zero tickets", ids[i], 0, i, 300, path, root.Sum},
		{"other index", ids[i], tickets[i], i + 1, 300, path, root.Sum},
		{"index out of range", ids[i], tickets[i], 300, 300, path, root.Sum},
		{"sibling hash", ids[i], tickets[i], i, 300, bump(2, func(n *draw.Node) { n.Hash[0] ^= 1 }), root.Sum},
		{"sibling sum", ids[i], tickets[i], i, 300, bump(2, func(n *draw.Node) { n.Sum++ }), root.Sum},
		{"other total", ids[i], tickets[i], i, 300, path, root.Sum + 1},
		{"total above 2^53-1", ids[i], tickets[i], i, 300, path, 1 << 53},
		{"sibling sum overflows", ids[i], tickets[i], i, 300, bump(0, func(n *draw.Node) { n.Sum = 1<<64 - 1 }), root.Sum},
		{"path too short", ids[i], tickets[i], i, 300, path[:len(path)-1], root.Sum},
		{"path too long", ids[i], tickets[i], i, 300, append(slices.Clone(path), root), root.Sum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := draw.VerifyTicketInclusion(c.user, c.tickets, c.index, c.size, c.path, root.Hash, c.total)
			if !errors.Is(err, draw.ErrInvalidProof) {
				t.Errorf("VerifyTicketInclusion = %v, want ErrInvalidProof", err)
			}
		})
	}
}

// TestVerifyTicketInclusionFirstTicketAtTheEdge: the last entrant of an
// odd-sized tree reaches the root through fn == sn steps, where its
// sibling stands to its left and must count towards first_ticket.
func TestVerifyTicketInclusionFirstTicketAtTheEdge(t *testing.T) {
	for _, n := range []int{3, 5, 6, 7, 11, 13} {
		ids, tickets := ticketList(n, 4, uint64(n)*7)
		tree, _ := draw.NewSumTree(ids, tickets)
		leaf, _ := tree.Leaf(ids[n-1])
		first, err := draw.VerifyTicketInclusion(ids[n-1], tickets[n-1], uint64(n-1), uint64(n), leaf.Path, tree.Root().Hash, tree.TotalTickets())
		if err != nil || first != prefix(tickets, n-1) || first+tickets[n-1] != tree.TotalTickets() {
			t.Errorf("n=%d: first ticket %d, %v; want %d", n, first, err, prefix(tickets, n-1))
		}
	}
}
