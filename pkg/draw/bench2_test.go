package draw_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

// benchEntrants returns n sparse ascending ids, like internal/store's
// benchmark seeds them, and tickets 1 to 10 (nil for one each).
func benchEntrants(n int, mixed bool) ([]int64, []uint64) {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i+1)*7919 + 13
	}
	if !mixed {
		return ids, nil
	}
	tickets := make([]uint64, n)
	for i := range tickets {
		tickets[i] = 1 + uint64(i*2654435761>>7)%10
	}
	return ids, tickets
}

// v2Draw runs a whole v2 draw over in-memory entrants: the tree and its
// chunk cache hashed, the freeze, the beacon verified, the seed derived
// and 100 winners selected by their tickets. Only reading the entrants
// (Postgres's COPY of the ids, see internal/store's BenchmarkDraw) is left
// out; the target is this within 2x that COPY.
func v2Draw(tb testing.TB, ids []int64, tickets []uint64, committed draw.Record, frozenAt time.Time, sig []byte) draw.Record {
	qn := beacon.Quicknet()
	tree, err := draw.NewSumTree(ids, tickets)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := committed.Freeze(draw.FreezeInput{Entrants: tree, WinnerCount: 100, FrozenAt: frozenAt, Chain: qn})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.Cache().MarshalBinary(); err != nil {
		tb.Fatal(err)
	}
	r, err = r.DrawWinners(draw.DrawInput{ServerSeed: v2ServerSeed("bench"), Entrants: tree, BeaconSignature: sig,
		DrawnAt: qn.RoundTime(r.BeaconRound), Chain: qn})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func benchCommitted(tb testing.TB) (draw.Record, time.Time, []byte) {
	qn := beacon.Quicknet()
	const round = 32285085
	frozenAt := qn.RoundTime(round).Add(-10 * time.Second)
	c, err := draw.Commit(draw.CommitInput{GiveawayID: 1, ServerSeed: v2ServerSeed("bench"), CommittedAt: frozenAt.Add(-time.Hour),
		Chain: qn, MaxTickets: 10})
	if err != nil {
		tb.Fatal(err)
	}
	return c, frozenAt, quicknetSig(tb, round)
}

// BenchmarkDrawV2 times the v2 draw over 1,000,000 and 10,000,000
// in-memory entrants, each with one ticket and with 1 to 10 tickets.
// Compare with the copy line of internal/store's BenchmarkDraw on the same
// machine:
//
//	go test ./pkg/draw -run '^$' -bench DrawV2 -benchtime 3x
//	go test ./internal/store -run '^$' -bench 'Draw/1000000/copy' -benchtime 3x
func BenchmarkDrawV2(b *testing.B) {
	c, frozenAt, sig := benchCommitted(b)
	for _, n := range []int{1_000_000, 10_000_000} {
		for _, mixed := range []bool{false, true} {
			name := strconv.Itoa(n) + "/tickets1"
			if mixed {
				name = strconv.Itoa(n) + "/tickets1to10"
			}
			b.Run(name, func(b *testing.B) {
				ids, tickets := benchEntrants(n, mixed)
				b.ReportAllocs()
				for b.Loop() {
					v2Draw(b, ids, tickets, c, frozenAt, sig)
				}
			})
		}
	}
}

// BenchmarkSumRoot times the hashing alone, on all cores, over 1,000,000
// entrants with mixed tickets.
func BenchmarkSumRoot(b *testing.B) {
	ids, tickets := benchEntrants(1_000_000, true)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := draw.NewSumTree(ids, tickets); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDrawV2Memory: besides the entrants' own slices, a v2 draw over
// 1,000,000 entrants allocates the chunk cache, the chunks' first tickets
// and a bitmap of N bits: well under 1 MB, so that 10,000,000 entrants
// (80 MB of ids, 80 MB of tickets) fit a 1 GiB pod many times over.
func TestDrawV2Memory(t *testing.T) {
	c, frozenAt, sig := benchCommitted(t)
	ids, tickets := benchEntrants(1_000_000, true)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := v2Draw(t, ids, tickets, c, frozenAt, sig)
	runtime.ReadMemStats(&after)
	if len(r.Winners) != 100 {
		t.Fatalf("%d winners", len(r.Winners))
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for 1,000,000 entrants", allocated)
	if allocated > 1<<20 {
		t.Errorf("the draw allocated %d bytes, more than 1 MiB, for 1,000,000 entrants", allocated)
	}
}
