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
// answers the root, proofs and which entrant holds a ticket. It holds the
// entrants in chunks of ChunkLeaves: views of the slices [NewSumTree] was
// given, which must not change afterwards, or the chunks a
// [SumTreeBuilder] filled. Besides them it holds about 80 bytes per
// ChunkLeaves entrants.
type SumTree struct {
	n int
	// ids[c] and tickets[c] are chunk c's entrants and their tickets;
	// tickets is nil when every entrant holds one, tickets[c] nil when
	// every entrant of chunk c does.
	ids     [][]int64
	tickets [][]uint64
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
	n := len(ids)
	chunks := (n + ChunkLeaves - 1) / ChunkLeaves
	t := &SumTree{n: n, total: total, largest: largest, ids: make([][]int64, chunks)}
	if tickets != nil {
		t.tickets = make([][]uint64, chunks)
	}
	for c := range chunks {
		lo, hi := c*ChunkLeaves, min((c+1)*ChunkLeaves, n)
		t.ids[c] = ids[lo:hi:hi]
		if tickets != nil {
			t.tickets[c] = tickets[lo:hi:hi]
		}
	}
	t.cache = newSumTreeCache(t.ids, t.tickets)
	t.finish()
	return t, nil
}

// finish computes the root and the chunks' first tickets from the cache.
func (t *SumTree) finish() {
	t.root = t.cache.root()
	t.chunkFirst = make([]uint64, len(t.cache.Roots))
	var acc uint64
	for c, r := range t.cache.Roots {
		t.chunkFirst[c] = acc
		acc += r.Sum
	}
}

// chunkTickets returns chunk c's ticket counts, nil for one each.
func (t *SumTree) chunkTickets(c int) []uint64 {
	if t.tickets == nil {
		return nil
	}
	return t.tickets[c]
}

// Root returns the entrants root and its sum, the total of tickets.
func (t *SumTree) Root() Node { return t.root }

// Len returns N, the number of entrants.
func (t *SumTree) Len() uint64 { return uint64(t.n) }

// TotalTickets returns T, the total of tickets.
func (t *SumTree) TotalTickets() uint64 { return t.total }

// LargestTickets returns the most tickets any entrant holds, 0 for no
// entrants.
func (t *SumTree) LargestTickets() uint64 { return t.largest }

// Cache returns the chunk cache of the tree, to be saved with the draw for
// cheap proofs later.
func (t *SumTree) Cache() SumTreeCache { return t.cache }

// Find returns the index of userID among the entrants, or where it would
// stand, and whether it is one.
func (t *SumTree) Find(userID int64) (uint64, bool) {
	// The last chunk whose first entrant is at most userID.
	c, found := slices.BinarySearch(t.cache.FirstIDs, userID)
	if found {
		return uint64(c * ChunkLeaves), true
	}
	if c == 0 {
		return 0, false
	}
	c--
	j, found := slices.BinarySearch(t.ids[c], userID)
	return uint64(c*ChunkLeaves + j), found
}

// Entrant returns the entrant at index i: user id, tickets and first
// ticket. It reads at most one chunk of ticket counts.
func (t *SumTree) Entrant(i uint64) (userID int64, tickets, firstTicket uint64) {
	c, j := int(i/ChunkLeaves), int(i%ChunkLeaves)
	tk := t.chunkTickets(c)
	if tk == nil {
		return t.ids[c][j], 1, t.chunkFirst[c] + uint64(j)
	}
	first := t.chunkFirst[c]
	for _, n := range tk[:j] {
		first += n
	}
	return t.ids[c][j], tk[j], first
}

// Holder returns the index of the entrant whose ticket range [first_ticket,
// first_ticket + tickets) holds ticket x, which must be below T: x itself
// when every entrant holds one ticket, otherwise a binary search over the
// chunks and a scan of one chunk.
func (t *SumTree) Holder(x uint64) uint64 {
	if t.total == uint64(t.n) {
		return x
	}
	// The last chunk whose first ticket is at most x.
	c, found := slices.BinarySearch(t.chunkFirst, x)
	if !found {
		c--
	}
	acc := t.chunkFirst[c]
	tk := t.chunkTickets(c)
	if tk == nil {
		return uint64(c*ChunkLeaves) + x - acc
	}
	for j, n := range tk {
		acc += n
		if x < acc {
			return uint64(c*ChunkLeaves + j)
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
	return t.cache.Proof(c, t.ids[c], t.chunkTickets(c), userID)
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

// newSumTreeCache hashes the chunks of a checked list on all cores;
// tickets is nil, or holds each chunk's counts (nil for one each).
func newSumTreeCache(ids [][]int64, tickets [][]uint64) SumTreeCache {
	chunks := len(ids)
	c := SumTreeCache{FirstIDs: make([]int64, chunks), Roots: make([]Node, chunks)}
	for _, chunk := range ids {
		c.Size += uint64(len(chunk))
	}
	work := func(i int) {
		var tk []uint64
		if tickets != nil {
			tk = tickets[i]
		}
		c.FirstIDs[i] = ids[i][0]
		c.Roots[i] = sumRootSeq(ids[i], tk)
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || c.Size < parallelMin {
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
