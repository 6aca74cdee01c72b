package draw_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

// sparseIDs returns n strictly ascending ids with gaps.
func sparseIDs(n int, seed uint64) []int64 {
	r := rand.New(rand.NewPCG(seed, 7))
	ids := make([]int64, n)
	var id int64
	for i := range ids {
		id += 1 + r.Int64N(50)
		ids[i] = id
	}
	return ids
}

// TestTreeCacheMatchesTheTree: for sizes around chunk boundaries, the root
// from the cache equals Root, and every sampled proof from the cache equals
// InclusionProof and verifies.
func TestTreeCacheMatchesTheTree(t *testing.T) {
	for _, n := range []int{1, 2, 1023, 1024, 1025, 2048, 3000, 4096 + 5, 70_000} {
		ids := sparseIDs(n, uint64(n))
		c := draw.NewTreeCache(ids)
		root := draw.Root(ids)
		if c.Root() != root {
			t.Fatalf("n=%d: cache root %s, tree root %s", n, c.Root(), root)
		}
		b, _ := c.MarshalBinary()
		var back draw.TreeCache
		if err := back.UnmarshalBinary(b); err != nil || back.Root() != root || back.Size != uint64(n) {
			t.Fatalf("n=%d: binary round trip: %v", n, err)
		}
		for _, i := range []int{0, n / 3, n / 2, n - 1, min(1023, n-1), min(1024, n-1)} {
			chunk, first, length, ok := back.ChunkOf(ids[i])
			if !ok {
				t.Fatalf("n=%d: no chunk for entrant %d", n, i)
			}
			lo, _ := slices.BinarySearch(ids, first)
			index, path, err := back.Proof(chunk, ids[lo:lo+length], ids[i])
			if err != nil || index != uint64(i) {
				t.Fatalf("n=%d i=%d: %d %v", n, i, index, err)
			}
			want, _ := draw.InclusionProof(ids, uint64(i))
			if !slices.Equal(path, want) {
				t.Fatalf("n=%d i=%d: cached path differs from InclusionProof", n, i)
			}
			if err := draw.VerifyInclusion(ids[i], index, uint64(n), path, root); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
		}
	}
}

func TestTreeCacheRefusesWrongInput(t *testing.T) {
	ids := sparseIDs(3000, 1)
	c := draw.NewTreeCache(ids)
	chunk, first, length, _ := c.ChunkOf(ids[1500])
	lo, _ := slices.BinarySearch(ids, first)
	chunkIDs := slices.Clone(ids[lo : lo+length])
	if _, _, err := c.Proof(chunk, chunkIDs, ids[1500]+1); !errors.Is(err, draw.ErrNotEntered) {
		t.Fatalf("a non-entrant: %v", err)
	}
	chunkIDs[5]++
	if _, _, err := c.Proof(chunk, chunkIDs, ids[1500]); err == nil {
		t.Fatal("a changed chunk produced a proof")
	}
	if _, _, _, ok := c.ChunkOf(ids[0] - 1); ok {
		t.Fatal("an id below every entrant has a chunk")
	}
	var bad draw.TreeCache
	if err := bad.UnmarshalBinary([]byte{9, 9}); err == nil {
		t.Fatal("garbage decoded")
	}
	empty := draw.NewTreeCache(nil)
	if empty.Root() != draw.Root(nil) {
		t.Fatal("the empty cache's root differs")
	}
}
