package draw

import (
	"fmt"
	"runtime"
	"sync"
)

// A SumTreeBuilder builds the [SumTree] of an entrant list read one
// entrant at a time, in order, as a database streams it: each chunk of
// ChunkLeaves entrants is hashed on another core as soon as it is
// complete, so that hashing overlaps the reading, and the entrants are
// kept in chunks, so that N need not be known in advance and nothing is
// copied or held twice. Tickets take memory only in the chunks where some
// entrant holds more than one. The zero value is ready to use; a builder
// is used by one goroutine and builds one tree.
type SumTreeBuilder struct {
	n       int
	cur     *builderChunk
	chunks  []*builderChunk
	prev    int64
	total   uint64
	largest uint64
	// idErr and ticketErr are the first faults found, reported in the
	// order CheckTickets finds them: the ids first.
	idErr, ticketErr error

	// hashing: chunks complete but not hashed yet, and the goroutines
	// hashing them, which stop when none is left.
	mu      sync.Mutex
	queue   []*builderChunk
	workers int
	wg      sync.WaitGroup
}

type builderChunk struct {
	ids     []int64
	tickets []uint64 // nil while every entrant of the chunk holds one
	root    Node
}

// Add appends the next entrant, holding tickets tickets. A list that is
// not strictly ascending, or holds an id below 1, a count of 0 or more
// than MaxTotalTickets in all, is refused by Tree, with the error
// [CheckTickets] gives.
func (b *SumTreeBuilder) Add(userID int64, tickets uint64) {
	i := b.n
	if b.idErr == nil {
		if userID < 1 {
			b.idErr = fmt.Errorf("draw: entrant %d at index %d is not a positive user id", userID, i)
		} else if i > 0 && userID <= b.prev {
			b.idErr = fmt.Errorf("draw: entrants not strictly ascending at index %d (%d after %d)", i, userID, b.prev)
		}
	}
	b.prev = userID
	if b.ticketErr == nil {
		switch {
		case tickets == 0:
			b.ticketErr = fmt.Errorf("draw: entrant %d at index %d holds 0 tickets", userID, i)
		case tickets > MaxTotalTickets-b.total:
			b.ticketErr = fmt.Errorf("draw: the tickets up to index %d add up to more than 2^53-1", i)
		default:
			b.total += tickets
			b.largest = max(b.largest, tickets)
		}
	}
	c := b.cur
	if c == nil {
		c = &builderChunk{ids: make([]int64, 0, ChunkLeaves)}
		b.cur = c
	}
	if tickets != 1 && c.tickets == nil {
		c.tickets = make([]uint64, len(c.ids), ChunkLeaves)
		for j := range c.tickets {
			c.tickets[j] = 1
		}
	}
	c.ids = append(c.ids, userID)
	if c.tickets != nil {
		c.tickets = append(c.tickets, tickets)
	}
	b.n++
	if len(c.ids) == ChunkLeaves {
		b.seal()
	}
}

// streamWorkers is how many goroutines hash while entrants still come in:
// one core is left to the reading.
func streamWorkers() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// seal queues the current chunk for hashing and starts a goroutine for
// it if fewer than streamWorkers are running.
func (b *SumTreeBuilder) seal() {
	c := b.cur
	b.cur = nil
	b.chunks = append(b.chunks, c)
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := b.workers < streamWorkers()
	if start {
		b.workers++
		b.wg.Add(1)
	}
	b.mu.Unlock()
	if start {
		go func() {
			defer b.wg.Done()
			b.hash()
		}()
	}
}

// hash hashes queued chunks until none is left, and then stops counting
// itself among the workers, in the same critical section, so that a chunk
// queued afterwards starts a goroutine of its own.
func (b *SumTreeBuilder) hash() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.workers--
			b.mu.Unlock()
			return
		}
		c := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.mu.Unlock()
		c.root = sumRootSeq(c.ids, c.tickets)
	}
}

// Len returns the number of entrants added so far.
func (b *SumTreeBuilder) Len() int { return b.n }

// Tree checks the list as [CheckTickets] does, hashes what is left on all
// cores, and returns the tree. The builder must not be used afterwards.
// A builder that is dropped instead, after a failed read, leaves no
// goroutine behind once its queued chunks are hashed.
func (b *SumTreeBuilder) Tree() (*SumTree, error) {
	if b.cur != nil {
		b.seal()
	}
	if b.idErr != nil {
		return nil, b.idErr
	}
	if b.ticketErr != nil {
		return nil, b.ticketErr
	}
	// Hash the rest on every core, this goroutine included.
	b.mu.Lock()
	extra := min(runtime.GOMAXPROCS(0)-1-b.workers, len(b.queue)-1)
	for range max(0, extra) {
		b.workers++
		b.wg.Go(b.hash)
	}
	b.workers++
	b.mu.Unlock()
	b.hash()
	b.wg.Wait()

	chunks := len(b.chunks)
	t := &SumTree{n: b.n, total: b.total, largest: b.largest, ids: make([][]int64, chunks)}
	t.cache = SumTreeCache{Size: uint64(b.n), FirstIDs: make([]int64, chunks), Roots: make([]Node, chunks)}
	for i, c := range b.chunks {
		t.ids[i] = c.ids
		t.cache.FirstIDs[i] = c.ids[0]
		t.cache.Roots[i] = c.root
		if c.tickets != nil {
			if t.tickets == nil {
				t.tickets = make([][]uint64, chunks)
			}
			t.tickets[i] = c.tickets
		}
	}
	b.chunks = nil
	t.finish()
	return t, nil
}
