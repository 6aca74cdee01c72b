package draw

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrInvalidProof is wrapped by every error of [VerifyInclusion].
var ErrInvalidProof = errors.New("draw: invalid inclusion proof")

// parallelMin is the tree size from which Root spreads the work over
// goroutines; below it the hashing takes about as long as starting them.
const parallelMin = 1 << 15

// minChunkShift bounds the per-goroutine subtree from below (4096 leaves) so
// that scheduling stays negligible next to hashing.
const minChunkShift = 12

// split returns the largest power of two strictly below n, for n >= 2.
func split(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// Root returns the RFC 6962 Merkle Tree Hash of the leaves
// uint64_be(entrants[i]), in the order given. The protocol requires the
// entrants to be in ascending order; Root does not check it.
//
// Large trees are hashed on all GOMAXPROCS cores. The work is cut into
// aligned subtrees of equal power-of-two size, which are exactly the
// subtrees that RFC 6962's split produces, so their hashes combine into the
// same root the sequential definition gives.
func Root(entrants []int64) Hash {
	procs := runtime.GOMAXPROCS(0)
	n := len(entrants)
	if procs < 2 || n < parallelMin {
		return rootSeq(entrants)
	}
	// Aim for several chunks per core so a slow core does not hold up the
	// rest.
	shift := bits.Len(uint(n/(8*procs))) - 1
	return rootParallel(entrants, procs, max(shift, minChunkShift))
}

// rootSeq hashes the tree in one pass, holding one pending perfect subtree
// per set bit of the leaf count (at most 64), so it allocates nothing.
func rootSeq(entrants []int64) Hash {
	if len(entrants) == 0 {
		return sha256.Sum256(nil)
	}
	var stack [64]Hash
	top := 0
	for i, id := range entrants {
		h := LeafHash(id)
		// Leaf i completes one perfect subtree per trailing one bit of i.
		for c := uint64(i); c&1 == 1; c >>= 1 {
			top--
			h = NodeHash(stack[top], h)
		}
		stack[top] = h
		top++
	}
	// The remaining subtrees shrink from left to right; RFC 6962 nests them
	// to the right.
	h := stack[top-1]
	for i := top - 2; i >= 0; i-- {
		h = NodeHash(stack[i], h)
	}
	return h
}

// rootParallel hashes chunks of 1<<shift leaves (the last may be short) on
// the given number of goroutines, then combines the chunk roots as RFC 6962
// would combine leaves: the chunk boundaries fall on the tree's split points.
func rootParallel(entrants []int64, workers, shift int) Hash {
	n := len(entrants)
	size := 1 << shift
	chunks := make([]Hash, (n+size-1)>>shift)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(chunks)) {
		wg.Go(func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= len(chunks) {
					return
				}
				lo := c << shift
				chunks[c] = rootSeq(entrants[lo:min(lo+size, n)])
			}
		})
	}
	wg.Wait()
	return combine(chunks)
}

// combine returns the RFC 6962 root over already hashed subtrees.
func combine(h []Hash) Hash {
	if len(h) == 1 {
		return h[0]
	}
	k := split(uint64(len(h)))
	return NodeHash(combine(h[:k]), combine(h[k:]))
}

// InclusionProof returns the RFC 6962 audit path (section 2.1.1) of the
// leaf at index of the tree [Root] computes, ordered from the leaf upwards.
// It hashes each leaf once and keeps only the path.
func InclusionProof(entrants []int64, index uint64) ([]Hash, error) {
	n := uint64(len(entrants))
	if index >= n {
		return nil, fmt.Errorf("draw: leaf index %d out of range for %d entrants", index, n)
	}
	return auditPath(n, index, func(lo, hi uint64) Hash { return Root(entrants[lo:hi]) }), nil
}

// auditPath walks the RFC 6962 tree of n leaves from the root down to the
// leaf at index, taking subtreeRoot of the sibling at each level, and
// returns the path ordered from the leaf upwards.
func auditPath(n, index uint64, subtreeRoot func(lo, hi uint64) Hash) []Hash {
	path := make([]Hash, 0, bits.Len64(n))
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

// VerifyInclusion checks that userID is the leaf at index of a tree of size
// leaves with the given root, following RFC 9162 section 2.1.3.2. The
// returned error wraps [ErrInvalidProof].
func VerifyInclusion(userID int64, index, size uint64, path []Hash, root Hash) error {
	if index >= size {
		return fmt.Errorf("%w: leaf index %d out of range for tree size %d", ErrInvalidProof, index, size)
	}
	fn, sn := index, size-1
	h := LeafHash(userID)
	for _, p := range path {
		if sn == 0 {
			return fmt.Errorf("%w: audit path longer than the tree is deep", ErrInvalidProof)
		}
		if fn&1 == 1 || fn == sn {
			h = NodeHash(p, h)
			// Skip the levels where this node is the last, unpaired one.
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			h = NodeHash(h, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: audit path shorter than the tree is deep", ErrInvalidProof)
	}
	if h != root {
		return fmt.Errorf("%w: computed root %s, want %s", ErrInvalidProof, h, root)
	}
	return nil
}
