package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// ChunkLeaves is how many consecutive leaves one cached subtree covers.
// Aligned power-of-two runs of leaves are always subtrees of the RFC 6962
// tree, and so is the shorter run at the end, so the tree above the chunks
// is the RFC 6962 tree over the chunk roots.
const ChunkLeaves = 1024

// TreeCache keeps the root and the first entrant of every chunk of
// ChunkLeaves leaves of an entrant tree: about 40 bytes per 1,024 entrants.
// With it an inclusion proof needs only the chunk holding the user, so a
// proof over millions of entrants costs one short range read instead of
// reading and hashing them all.
type TreeCache struct {
	Size     uint64
	FirstIDs []int64
	Roots    []Hash
}

// NewTreeCache hashes the entrants' chunks, on all cores for large trees.
func NewTreeCache(entrants []int64) TreeCache {
	n := len(entrants)
	chunks := (n + ChunkLeaves - 1) / ChunkLeaves
	c := TreeCache{Size: uint64(n), FirstIDs: make([]int64, chunks), Roots: make([]Hash, chunks)}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= chunks {
					return
				}
				lo := i * ChunkLeaves
				c.FirstIDs[i] = entrants[lo]
				c.Roots[i] = rootSeq(entrants[lo:min(lo+ChunkLeaves, n)])
			}
		})
	}
	wg.Wait()
	return c
}

// Root is the entrants root, combined from the chunk roots.
func (c TreeCache) Root() Hash {
	if c.Size == 0 {
		return sha256.Sum256(nil)
	}
	return combine(c.Roots)
}

// ChunkOf returns the chunk that holds userID if it is an entrant at all,
// with its first entrant and length: the range to read for a proof.
func (c TreeCache) ChunkOf(userID int64) (chunk int, first int64, length int, ok bool) {
	i, found := slices.BinarySearch(c.FirstIDs, userID)
	if !found {
		i--
	}
	if i < 0 {
		return 0, 0, 0, false
	}
	return i, c.FirstIDs[i], c.chunkLen(i), true
}

func (c TreeCache) chunkLen(i int) int {
	if i == len(c.Roots)-1 {
		return int(c.Size) - i*ChunkLeaves
	}
	return ChunkLeaves
}

// Proof returns the leaf index and RFC 6962 audit path of userID, given the
// entrants of its chunk (as ChunkOf names them). The chunk is checked
// against its cached root, so a changed entrant list cannot produce a proof.
// It returns ErrNotEntered when the user is not in the chunk.
func (c TreeCache) Proof(chunk int, ids []int64, userID int64) (uint64, []Hash, error) {
	if chunk < 0 || chunk >= len(c.Roots) {
		return 0, nil, fmt.Errorf("draw: chunk %d out of range", chunk)
	}
	if len(ids) != c.chunkLen(chunk) || len(ids) == 0 || ids[0] != c.FirstIDs[chunk] || rootSeq(ids) != c.Roots[chunk] {
		return 0, nil, errors.New("draw: the entrants read do not match the cached chunk")
	}
	j, found := slices.BinarySearch(ids, userID)
	if !found {
		return 0, nil, ErrNotEntered
	}
	inner, err := InclusionProof(ids, uint64(j))
	if err != nil {
		return 0, nil, err
	}
	return uint64(chunk*ChunkLeaves + j), append(inner, pathOver(c.Roots, chunk)...), nil
}

// pathOver is the audit path of hashes[index] in the RFC 6962 tree whose
// leaves are already hashed subtrees, from the bottom up.
func pathOver(hashes []Hash, index int) []Hash {
	return auditPath(uint64(len(hashes)), uint64(index), func(lo, hi uint64) Hash { return combine(hashes[lo:hi]) })
}

// cacheFormat versions the binary form.
const cacheFormat = 1

// MarshalBinary encodes the cache: a format byte, the size, then each
// chunk's first entrant and root.
func (c TreeCache) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 9+len(c.Roots)*40)
	b = append(b, cacheFormat)
	b = binary.BigEndian.AppendUint64(b, c.Size)
	for i, r := range c.Roots {
		b = binary.BigEndian.AppendUint64(b, uint64(c.FirstIDs[i]))
		b = append(b, r[:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (c *TreeCache) UnmarshalBinary(b []byte) error {
	if len(b) < 9 || b[0] != cacheFormat || (len(b)-9)%40 != 0 {
		return errors.New("draw: malformed tree cache")
	}
	size := binary.BigEndian.Uint64(b[1:9])
	chunks := (len(b) - 9) / 40
	if uint64(chunks) != (size+ChunkLeaves-1)/ChunkLeaves {
		return errors.New("draw: tree cache size and chunks disagree")
	}
	out := TreeCache{Size: size, FirstIDs: make([]int64, chunks), Roots: make([]Hash, chunks)}
	for i := range chunks {
		rec := b[9+i*40:]
		out.FirstIDs[i] = int64(binary.BigEndian.Uint64(rec))
		copy(out.Roots[i][:], rec[8:40])
	}
	*c = out
	return nil
}
