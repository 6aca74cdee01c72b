package draw_test

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// build feeds ids and tickets (nil for one each) to a SumTreeBuilder.
func build(ids []int64, tickets []uint64) (*draw.SumTree, error) {
	var b draw.SumTreeBuilder
	for i, id := range ids {
		t := uint64(1)
		if tickets != nil {
			t = tickets[i]
		}
		b.Add(id, t)
	}
	if b.Len() != len(ids) {
		panic("Len does not count the entrants added")
	}
	return b.Tree()
}

// TestSumTreeBuilderMatchesNewSumTree: a tree built entrant by entrant is
// the tree NewSumTree hashes from the whole list, in its root, cache,
// proofs, entrants and ticket holders, whether nobody, everybody or only a
// few late entrants hold more than one ticket.
func TestSumTreeBuilderMatchesNewSumTree(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 1023, 1024, 1025, 3000, 40_000, 70_001} {
		ids, mixed := ticketList(n, 7, uint64(n)+3)
		fewLate := ones(n)
		for _, i := range []int{n - 1, n / 2, n - 1025} {
			if i >= 0 && i < n {
				fewLate[i] = 3
			}
		}
		for name, tickets := range map[string][]uint64{"one each": nil, "mixed": mixed, "few late": fewLate} {
			want, err := draw.NewSumTree(ids, tickets)
			if err != nil {
				t.Fatal(err)
			}
			got, err := build(ids, tickets)
			if err != nil {
				t.Fatalf("n=%d %s: %v", n, name, err)
			}
			full := tickets
			if full == nil {
				full = ones(n)
			}
			if h, s := refSumTree(ids, full); got.Root() != (draw.Node{Hash: h, Sum: s}) || got.Root() != want.Root() {
				t.Fatalf("n=%d %s: root %+v, want %+v", n, name, got.Root(), want.Root())
			}
			if got.Len() != want.Len() || got.TotalTickets() != want.TotalTickets() || got.LargestTickets() != want.LargestTickets() {
				t.Fatalf("n=%d %s: %d entrants, %d tickets, at most %d; want %d, %d, %d", n, name,
					got.Len(), got.TotalTickets(), got.LargestTickets(), want.Len(), want.TotalTickets(), want.LargestTickets())
			}
			gc, _ := got.Cache().MarshalBinary()
			wc, _ := want.Cache().MarshalBinary()
			if !bytes.Equal(gc, wc) {
				t.Fatalf("n=%d %s: the caches differ", n, name)
			}
			for _, i := range slices.Compact([]int{0, 1, n / 3, n / 2, n - 1025, n - 1024, n - 2, n - 1}) {
				if i < 0 || i >= n {
					continue
				}
				gl, err1 := got.Leaf(ids[i])
				wl, err2 := want.Leaf(ids[i])
				if err1 != nil || err2 != nil || gl.Index != wl.Index || gl.Tickets != wl.Tickets || gl.FirstTicket != wl.FirstTicket ||
					!slices.Equal(gl.Path, wl.Path) {
					t.Fatalf("n=%d %s i=%d: leaf %+v (%v), want %+v (%v)", n, name, i, gl, err1, wl, err2)
				}
				gid, gt, gf := got.Entrant(uint64(i))
				if wid, wt, wf := want.Entrant(uint64(i)); gid != wid || gt != wt || gf != wf || gf != prefix(full, i) {
					t.Fatalf("n=%d %s: Entrant(%d) = %d %d %d, want %d %d %d", n, name, i, gid, gt, gf, wid, wt, wf)
				}
				for _, x := range []uint64{gf, gf + gt - 1} {
					if got.Holder(x) != uint64(i) || want.Holder(x) != uint64(i) {
						t.Fatalf("n=%d %s: ticket %d held by %d, want %d", n, name, x, got.Holder(x), i)
					}
				}
				for _, id := range []int64{ids[i], ids[i] - 1, ids[i] + 1} {
					gi, gok := got.Find(id)
					if wi, wok := want.Find(id); gi != wi || gok != wok {
						t.Fatalf("n=%d %s: Find(%d) = %d %v, want %d %v", n, name, id, gi, gok, wi, wok)
					}
				}
			}
		}
	}
}

// TestSumTreeBuilderRefuses: the builder refuses what NewSumTree refuses,
// with the same error, the ids' faults before the tickets'.
func TestSumTreeBuilderRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		ids     []int64
		tickets []uint64
	}{
		"zero tickets":          {[]int64{1, 2}, []uint64{1, 0}},
		"unsorted":              {[]int64{2, 1}, []uint64{1, 1}},
		"duplicate":             {[]int64{2, 2}, nil},
		"id 0":                  {[]int64{0}, nil},
		"negative id":           {[]int64{5, -1}, nil},
		"over 2^53-1":           {[]int64{1, 2}, []uint64{1 << 52, 1 << 52}},
		"uint64 wraps":          {[]int64{1, 2}, []uint64{1<<64 - 1, 2}},
		"one over 2^53":         {[]int64{1}, []uint64{1 << 53}},
		"sum just above":        {[]int64{1, 2, 3}, []uint64{1<<53 - 3, 1, 2}},
		"ids after tickets":     {[]int64{1, 3, 2}, []uint64{1, 0, 1}},
		"two faults of the ids": {[]int64{3, 3, 0}, nil},
		"late in a big list":    {append(upTo(5000), 7), nil},
	} {
		_, want := draw.NewSumTree(c.ids, c.tickets)
		_, got := build(c.ids, c.tickets)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%s: builder refused with %v, NewSumTree with %v", name, got, want)
		}
	}
	tr, err := build([]int64{1, 2}, []uint64{1<<53 - 2, 1})
	if err != nil || tr.TotalTickets() != 1<<53-1 || tr.LargestTickets() != 1<<53-2 {
		t.Errorf("a total of exactly 2^53-1: %v", err)
	}
}

// upTo returns the ids 1 to n.
func upTo(n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return ids
}

// TestSumTreeBuilderMemory: building the tree of 1,000,000 entrants with a
// ticket each allocates their ids once, 8 bytes each, and at most 3 % more
// for the chunks, the cache and the tree: neither a slice that grows as
// entrants come in (twice N x 8 bytes or more) nor any tickets.
func TestSumTreeBuilderMemory(t *testing.T) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var b draw.SumTreeBuilder
	for i := range n {
		b.Add(int64(i)*7919+13, 1)
	}
	tree, err := b.Tree()
	runtime.ReadMemStats(&after)
	if err != nil || tree.Len() != n {
		t.Fatalf("%v, %d entrants", err, tree.Len())
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for %d entrants", allocated, n)
	if limit := uint64(n*8 + n/4); allocated > limit {
		t.Errorf("building the tree allocated %d bytes, more than %d", allocated, limit)
	}
}

// TestSumTreeBuilderDropped: a builder dropped after a failed read leaves
// no goroutine behind.
func TestSumTreeBuilderDropped(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		var b draw.SumTreeBuilder
		for i := range 50 * draw.ChunkLeaves {
			b.Add(int64(i+1), 1)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
