package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// MaxTotalTickets is the largest total of tickets a v2 draw may hold,
// 2^53-1: every count and sum up to it is exact as an IEEE double, so it
// survives JSON in any language.
const MaxTotalTickets = 1<<53 - 1

// A Node is a node of the v2 entrant tree, a Merkle sum tree: its hash and
// the number of tickets held by the leaves below it. In JSON it is
// {"hash": hex, "sum": number}.
type Node struct {
	Hash Hash   `json:"hash"`
	Sum  uint64 `json:"sum"`
}

// EmptySumRoot is the root of the sum tree over no entrants: SHA-256 of the
// empty string, sum 0.
var EmptySumRoot = Node{Hash: sha256.Sum256(nil)}

// SumLeaf returns the leaf of an entrant holding tickets tickets: hash
// SHA-256(0x00 || uint64_be(userID) || uint64_be(tickets)), sum tickets.
func SumLeaf(userID int64, tickets uint64) Node {
	var b [17]byte
	binary.BigEndian.PutUint64(b[1:], uint64(userID))
	binary.BigEndian.PutUint64(b[9:], tickets)
	return Node{Hash: sha256.Sum256(b[:]), Sum: tickets}
}

// SumNode returns the parent of l and r: hash SHA-256(0x01 || l.Hash ||
// uint64_be(l.Sum) || r.Hash || uint64_be(r.Sum)), sum l.Sum + r.Sum. It
// fails when the sum exceeds MaxTotalTickets.
func SumNode(l, r Node) (Node, error) {
	if l.Sum > MaxTotalTickets || r.Sum > MaxTotalTickets-l.Sum {
		return Node{}, fmt.Errorf("draw: tickets %d + %d exceed 2^53-1", l.Sum, r.Sum)
	}
	return sumNode(l, r), nil
}

// sumNode is SumNode for sums already known to be in range.
func sumNode(l, r Node) Node {
	var b [1 + 2*(32+8)]byte
	b[0] = 1
	copy(b[1:33], l.Hash[:])
	binary.BigEndian.PutUint64(b[33:41], l.Sum)
	copy(b[41:73], r.Hash[:])
	binary.BigEndian.PutUint64(b[73:81], r.Sum)
	return Node{Hash: sha256.Sum256(b[:]), Sum: l.Sum + r.Sum}
}

// ticketsAt returns entrant i's tickets: 1 when tickets is nil.
func ticketsAt(tickets []uint64, i int) uint64 {
	if tickets == nil {
		return 1
	}
	return tickets[i]
}

// sumRootSeq hashes the sum tree over ids (and tickets, nil for one each) in
// one pass, holding one pending perfect subtree per set bit of the leaf
// count, as rootSeq does for v1. The sums must be known to fit.
func sumRootSeq(ids []int64, tickets []uint64) Node {
	if len(ids) == 0 {
		return EmptySumRoot
	}
	var stack [64]Node
	top := 0
	for i, id := range ids {
		h := SumLeaf(id, ticketsAt(tickets, i))
		for c := uint64(i); c&1 == 1; c >>= 1 {
			top--
			h = sumNode(stack[top], h)
		}
		stack[top] = h
		top++
	}
	h := stack[top-1]
	for i := top - 2; i >= 0; i-- {
		h = sumNode(stack[i], h)
	}
	return h
}

// combineSums returns the RFC 6962-shaped root over already hashed
// subtrees whose total is known to fit.
func combineSums(h []Node) Node {
	if len(h) == 0 {
		return EmptySumRoot
	}
	if len(h) == 1 {
		return h[0]
	}
	k := split(uint64(len(h)))
	return sumNode(combineSums(h[:k]), combineSums(h[k:]))
}

// pathOf walks the RFC 6962 tree of n leaves from the root down to the leaf
// at index, taking subtreeRoot of the sibling at each level, and returns the
// path ordered from the leaf upwards.
func pathOf[T any](n, index uint64, subtreeRoot func(lo, hi uint64) T) []T {
	path := make([]T, 0, bits.Len64(n))
	lo, hi := uint64(0), n
	for hi-lo > 1 {
		k := lo + split(hi-lo)
		if index < k {
			path = append(path, subtreeRoot(k, hi))
			hi = k
		} else {
			path = append(path, subtreeRoot(lo, k))
			lo = k
		}
	}
	slices.Reverse(path)
	return path
}

// CheckTickets checks a v2 entrant list: user ids strictly ascending and
// each at least 1, tickets nil (one each) or one count per entrant, each at
// least 1, their total at most MaxTotalTickets. It returns the total and
// the largest count.
func CheckTickets(ids []int64, tickets []uint64) (total, largest uint64, err error) {
	if err := checkEntrants(ids); err != nil {
		return 0, 0, fmt.Errorf("draw: %w", err)
	}
	if tickets == nil {
		n := uint64(len(ids))
		if n > MaxTotalTickets {
			return 0, 0, fmt.Errorf("draw: %d entrants hold more than 2^53-1 tickets", n)
		}
		return n, min(n, 1), nil
	}
	if len(tickets) != len(ids) {
		return 0, 0, fmt.Errorf("draw: %d ticket counts for %d entrants", len(tickets), len(ids))
	}
	for i, t := range tickets {
		if t == 0 {
			return 0, 0, fmt.Errorf("draw: entrant %d at index %d holds 0 tickets", ids[i], i)
		}
		// total <= MaxTotalTickets, so the comparison cannot wrap.
		if t > MaxTotalTickets-total {
			return 0, 0, fmt.Errorf("draw: the tickets up to index %d add up to more than 2^53-1", i)
		}
		total += t
		largest = max(largest, t)
	}
	return total, largest, nil
}

// A SumTree is the v2 entrant tree of a frozen list, hashed once: it
// answers the root, proofs and which entrant holds a ticket. It refers to
// the slices it was built from, which must not change afterwards; besides
// them it holds about 56 bytes per ChunkLeaves entrants.
type SumTree struct {
	ids     []int64
	tickets []uint64 // nil: one ticket each
	total   uint64
	largest uint64
	root    Node
	cache   SumTreeCache
	// chunkFirst[c] is the first ticket of chunk c.
	chunkFirst []uint64
}

// NewSumTree checks the list as [CheckTickets] does and hashes its tree, on
// all cores for large lists. tickets nil means one ticket each, which needs
// no memory for the counts.
func NewSumTree(ids []int64, tickets []uint64) (*SumTree, error) {
	total, largest, err := CheckTickets(ids, tickets)
	if err != nil {
		return nil, err
	}
	t := &SumTree{ids: ids, tickets: tickets, total: total, largest: largest}
	t.cache = newSumTreeCache(ids, tickets)
	t.root = t.cache.root()
	t.chunkFirst = make([]uint64, len(t.cache.Roots))
	var acc uint64
	for c, r := range t.cache.Roots {
		t.chunkFirst[c] = acc
		acc += r.Sum
	}
	return t, nil
}

// Root returns the entrants root and its sum, the total of tickets.
func (t *SumTree) Root() Node { return t.root }

// Len returns N, the number of entrants.
func (t *SumTree) Len() uint64 { return uint64(len(t.ids)) }

// TotalTickets returns T, the total of tickets.
func (t *SumTree) TotalTickets() uint64 { return t.total }

// LargestTickets returns the most tickets any entrant holds, 0 for no
// entrants.
func (t *SumTree) LargestTickets() uint64 { return t.largest }

// Cache returns the chunk cache of the tree, to be saved with the draw for
// cheap proofs later.
func (t *SumTree) Cache() SumTreeCache { return t.cache }

// Find returns the index of userID among the entrants.
func (t *SumTree) Find(userID int64) (uint64, bool) {
	i, ok := slices.BinarySearch(t.ids, userID)
	return uint64(i), ok
}

// Entrant returns the entrant at index i: user id, tickets and first
// ticket. It reads at most one chunk of ticket counts.
func (t *SumTree) Entrant(i uint64) (userID int64, tickets, firstTicket uint64) {
	if t.tickets == nil {
		return t.ids[i], 1, i
	}
	c := i / ChunkLeaves
	first := t.chunkFirst[c]
	for j := c * ChunkLeaves; j < i; j++ {
		first += t.tickets[j]
	}
	return t.ids[i], t.tickets[i], first
}

// Holder returns the index of the entrant whose ticket range [first_ticket,
// first_ticket + tickets) holds ticket x, which must be below T: x itself
// when every entrant holds one ticket, otherwise a binary search over the
// chunks and a scan of one chunk.
func (t *SumTree) Holder(x uint64) uint64 {
	if t.tickets == nil {
		return x
	}
	// The last chunk whose first ticket is at most x.
	c, found := slices.BinarySearch(t.chunkFirst, x)
	if !found {
		c--
	}
	acc := t.chunkFirst[c]
	lo := c * ChunkLeaves
	for j := lo; j < len(t.tickets); j++ {
		acc += t.tickets[j]
		if x < acc {
			return uint64(j)
		}
	}
	panic("draw: ticket beyond the total")
}

// A TicketLeaf is an entrant's place in a sum tree: the leaf index, the
// tickets and the first of them, and the audit path of {hash, sum}
// siblings from the leaf upwards.
type TicketLeaf struct {
	Index       uint64
	Tickets     uint64
	FirstTicket uint64
	Path        []Node
}

// Leaf returns the place of userID in the tree, or ErrNotEntered.
func (t *SumTree) Leaf(userID int64) (TicketLeaf, error) {
	i, ok := t.Find(userID)
	if !ok {
		return TicketLeaf{}, ErrNotEntered
	}
	c := int(i / ChunkLeaves)
	lo := c * ChunkLeaves
	hi := min(lo+ChunkLeaves, len(t.ids))
	var tk []uint64
	if t.tickets != nil {
		tk = t.tickets[lo:hi]
	}
	return t.cache.Proof(c, t.ids[lo:hi], tk, userID)
}

// SumInclusionProof returns the audit path of the leaf at index in the sum
// tree over ids and tickets (nil for one each), from the leaf upwards. It
// hashes each leaf once; for repeated proofs build a [SumTree].
func SumInclusionProof(ids []int64, tickets []uint64, index uint64) ([]Node, error) {
	n := uint64(len(ids))
	if index >= n {
		return nil, fmt.Errorf("draw: leaf index %d out of range for %d entrants", index, n)
	}
	if tickets != nil && len(tickets) != len(ids) {
		return nil, fmt.Errorf("draw: %d ticket counts for %d entrants", len(tickets), len(ids))
	}
	if _, _, err := CheckTickets(ids, tickets); err != nil {
		return nil, err
	}
	return pathOf(n, index, func(lo, hi uint64) Node {
		var tk []uint64
		if tickets != nil {
			tk = tickets[lo:hi]
		}
		return sumRootSeq(ids[lo:hi], tk)
	}), nil
}

// SumRoot checks the list as [CheckTickets] does and returns the root of
// its sum tree.
func SumRoot(ids []int64, tickets []uint64) (Node, error) {
	t, err := NewSumTree(ids, tickets)
	if err != nil {
		return Node{}, err
	}
	return t.Root(), nil
}

// VerifyTicketInclusion checks that the entrant userID holding tickets
// tickets is the leaf at index of a sum tree of size leaves whose root is
// root with sum total, by the RFC 9162 section 2.1.3.2 walk over path
// ({hash, sum} siblings from the leaf upwards), and returns the entrant's
// first ticket: the sum of every sibling that stands to the left. It fails,
// wrapping [ErrInvalidProof], unless the root hash matches, the root's sum
// is total, total is at most MaxTotalTickets, every partial sum is at most
// total and first_ticket + tickets is at most total.
func VerifyTicketInclusion(userID int64, tickets, index, size uint64, path []Node, root Hash, total uint64) (uint64, error) {
	switch {
	case index >= size:
		return 0, fmt.Errorf("%w: leaf index %d out of range for tree size %d", ErrInvalidProof, index, size)
	case total > MaxTotalTickets:
		return 0, fmt.Errorf("%w: total of %d tickets exceeds 2^53-1", ErrInvalidProof, total)
	case tickets == 0 || tickets > total:
		return 0, fmt.Errorf("%w: %d tickets of a total of %d", ErrInvalidProof, tickets, total)
	}
	fn, sn := index, size-1
	h := SumLeaf(userID, tickets)
	var first uint64
	for _, p := range path {
		if sn == 0 {
			return 0, fmt.Errorf("%w: audit path longer than the tree is deep", ErrInvalidProof)
		}
		// Both sums are at most total <= 2^53-1, so neither addition wraps.
		if p.Sum > total || h.Sum+p.Sum > total {
			return 0, fmt.Errorf("%w: partial sum %d + %d exceeds the total of %d tickets", ErrInvalidProof, h.Sum, p.Sum, total)
		}
		if fn&1 == 1 || fn == sn {
			h = sumNode(p, h)
			first += p.Sum
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			h = sumNode(h, p)
		}
		fn >>= 1
		sn >>= 1
	}
	switch {
	case sn != 0:
		return 0, fmt.Errorf("%w: audit path shorter than the tree is deep", ErrInvalidProof)
	case h.Hash != root:
		return 0, fmt.Errorf("%w: computed root %s, want %s", ErrInvalidProof, h.Hash, root)
	case h.Sum != total:
		return 0, fmt.Errorf("%w: the path sums to %d tickets, want %d", ErrInvalidProof, h.Sum, total)
	case first+tickets > total:
		return 0, fmt.Errorf("%w: tickets [%d, %d) run past the total of %d", ErrInvalidProof, first, first+tickets, total)
	}
	return first, nil
}

// newSumTreeCache hashes the chunks of a checked list on all cores.
func newSumTreeCache(ids []int64, tickets []uint64) SumTreeCache {
	n := len(ids)
	chunks := (n + ChunkLeaves - 1) / ChunkLeaves
	c := SumTreeCache{Size: uint64(n), FirstIDs: make([]int64, chunks), Roots: make([]Node, chunks)}
	work := func(i int) {
		lo := i * ChunkLeaves
		hi := min(lo+ChunkLeaves, n)
		var tk []uint64
		if tickets != nil {
			tk = tickets[lo:hi]
		}
		c.FirstIDs[i] = ids[lo]
		c.Roots[i] = sumRootSeq(ids[lo:hi], tk)
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || n < parallelMin {
		for i := range chunks {
			work(i)
		}
		return c
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, chunks) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= chunks {
					return
				}
				work(i)
			}
		})
	}
	wg.Wait()
	return c
}
