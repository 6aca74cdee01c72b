package draw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// SumTreeCache keeps the root node (hash and sum) and the first entrant of
// every chunk of ChunkLeaves leaves of a v2 entrant tree: 48 bytes per
// 1,024 entrants. Saved with the draw, it lets a proof over millions of
// entrants read only the chunk holding the user. Build it with
// [NewSumTree] and [SumTree.Cache].
type SumTreeCache struct {
	Size     uint64
	FirstIDs []int64
	Roots    []Node
}

// root combines the chunk roots of a cache whose sums are known to fit.
func (c SumTreeCache) root() Node { return combineSums(c.Roots) }

// Root returns the entrants root and its sum, combined from the chunk
// roots.
func (c SumTreeCache) Root() Node { return c.root() }

// ChunkOf returns the chunk that holds userID if it is an entrant at all,
// with its first entrant and length: the range to read for a proof.
func (c SumTreeCache) ChunkOf(userID int64) (chunk int, first int64, length int, ok bool) {
	i, found := slices.BinarySearch(c.FirstIDs, userID)
	if !found {
		i--
	}
	if i < 0 {
		return 0, 0, 0, false
	}
	return i, c.FirstIDs[i], c.chunkLen(i), true
}

func (c SumTreeCache) chunkLen(i int) int {
	if i == len(c.Roots)-1 {
		return int(c.Size) - i*ChunkLeaves
	}
	return ChunkLeaves
}

// Proof returns the place of userID in the tree, given the entrants of its
// chunk and their tickets (nil for one each), as ChunkOf names them. The
// chunk is checked against its cached root and sum, so a changed list
// cannot produce a proof. It returns ErrNotEntered when the user is not in
// the chunk.
func (c SumTreeCache) Proof(chunk int, ids []int64, tickets []uint64, userID int64) (TicketLeaf, error) {
	if chunk < 0 || chunk >= len(c.Roots) {
		return TicketLeaf{}, fmt.Errorf("draw: chunk %d out of range", chunk)
	}
	if len(ids) != c.chunkLen(chunk) || len(ids) == 0 || ids[0] != c.FirstIDs[chunk] {
		return TicketLeaf{}, errors.New("draw: the entrants read do not match the cached chunk")
	}
	if _, _, err := CheckTickets(ids, tickets); err != nil {
		return TicketLeaf{}, err
	}
	if sumRootSeq(ids, tickets) != c.Roots[chunk] {
		return TicketLeaf{}, errors.New("draw: the entrants read do not match the cached chunk")
	}
	j, found := slices.BinarySearch(ids, userID)
	if !found {
		return TicketLeaf{}, ErrNotEntered
	}
	first := uint64(0)
	for _, r := range c.Roots[:chunk] {
		first += r.Sum
	}
	for i := range j {
		first += ticketsAt(tickets, i)
	}
	inner := pathOf(uint64(len(ids)), uint64(j), func(lo, hi uint64) Node {
		var tk []uint64
		if tickets != nil {
			tk = tickets[lo:hi]
		}
		return sumRootSeq(ids[lo:hi], tk)
	})
	outer := pathOf(uint64(len(c.Roots)), uint64(chunk), func(lo, hi uint64) Node { return combineSums(c.Roots[lo:hi]) })
	return TicketLeaf{
		Index:       uint64(chunk*ChunkLeaves + j),
		Tickets:     ticketsAt(tickets, j),
		FirstTicket: first,
		Path:        append(inner, outer...),
	}, nil
}

// sumCacheFormat versions the binary form; v1's TreeCache uses 1.
const sumCacheFormat = 2

// MarshalBinary encodes the cache: a format byte, the size, then each
// chunk's first entrant, root hash and sum.
func (c SumTreeCache) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 9+len(c.Roots)*48)
	b = append(b, sumCacheFormat)
	b = binary.BigEndian.AppendUint64(b, c.Size)
	for i, r := range c.Roots {
		b = binary.BigEndian.AppendUint64(b, uint64(c.FirstIDs[i]))
		b = append(b, r.Hash[:]...)
		b = binary.BigEndian.AppendUint64(b, r.Sum)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, refusing chunks that
// hold no tickets or more than MaxTotalTickets together.
func (c *SumTreeCache) UnmarshalBinary(b []byte) error {
	if len(b) < 9 || b[0] != sumCacheFormat || (len(b)-9)%48 != 0 {
		return errors.New("draw: malformed sum tree cache")
	}
	size := binary.BigEndian.Uint64(b[1:9])
	chunks := (len(b) - 9) / 48
	if uint64(chunks) != (size+ChunkLeaves-1)/ChunkLeaves {
		return errors.New("draw: sum tree cache size and chunks disagree")
	}
	out := SumTreeCache{Size: size, FirstIDs: make([]int64, chunks), Roots: make([]Node, chunks)}
	var total uint64
	for i := range chunks {
		rec := b[9+i*48:]
		out.FirstIDs[i] = int64(binary.BigEndian.Uint64(rec))
		copy(out.Roots[i].Hash[:], rec[8:40])
		s := binary.BigEndian.Uint64(rec[40:48])
		if s == 0 || s > MaxTotalTickets-total {
			return errors.New("draw: sum tree cache holds an empty chunk or more than 2^53-1 tickets")
		}
		total += s
		out.Roots[i].Sum = s
	}
	*c = out
	return nil
}
