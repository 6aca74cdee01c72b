package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSumHashesMatchSHA256 checks the padded single-message hashes of the
// sum tree against crypto/sha256 over the same bytes, for edge values and
// random ones.
func TestSumHashesMatchSHA256(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []int64{0, 1, 7919*1000000 + 13, math.MaxInt64, -1}
	sums := []uint64{0, 1, 10, MaxTotalTickets, math.MaxUint64}
	for range 1000 {
		ids = append(ids, int64(rng.Uint64()))
		sums = append(sums, rng.Uint64())
	}
	for i, id := range ids {
		tk := sums[i]
		var msg [leafLen]byte
		binary.BigEndian.PutUint64(msg[1:], uint64(id))
		binary.BigEndian.PutUint64(msg[9:], tk)
		if got, want := sumLeafHash(id, tk), Hash(sha256.Sum256(msg[:])); got != want {
			t.Fatalf("leaf (%d, %d): %s, want %s", id, tk, got, want)
		}
		l := Node{Sum: tk}
		r := Node{Sum: sums[len(sums)-1-i]}
		for j := range l.Hash {
			l.Hash[j], r.Hash[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		node := append(append(append(append([]byte{1}, l.Hash[:]...), binary.BigEndian.AppendUint64(nil, l.Sum)...),
			r.Hash[:]...), binary.BigEndian.AppendUint64(nil, r.Sum)...)
		if len(node) != nodeLen {
			t.Fatalf("node message of %d bytes", len(node))
		}
		if got, want := sumNodeHash(l, r), Hash(sha256.Sum256(node)); got != want {
			t.Fatalf("node %v, %v: %s, want %s", l, r, got, want)
		}
	}
}

// TestBlockSHANI checks the SHA-NI block function over messages of one to
// twenty blocks, padded here, against crypto/sha256.
func TestBlockSHANI(t *testing.T) {
	if !useSHANI {
		t.Skip("this processor or build has no SHA-NI; the hashes use crypto/sha256")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 20*64 - 8 {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		padded := append(msg, 0x80)
		for len(padded)%64 != 56 {
			padded = append(padded, 0)
		}
		padded = binary.BigEndian.AppendUint64(padded, uint64(n)*8)
		if got, want := compress(padded), Hash(sha256.Sum256(msg)); got != want {
			t.Fatalf("%d bytes: %s, want %s", n, got, want)
		}
		// The two-message form, against the same message and its reverse.
		rev := slices.Clone(msg)
		slices.Reverse(rev)
		paddedRev := append(slices.Clone(rev), padded[n:]...)
		ga, gb := compress2(padded, paddedRev)
		if wa, wb := Hash(sha256.Sum256(msg)), Hash(sha256.Sum256(rev)); ga != wa || gb != wb {
			t.Fatalf("%d bytes, two at once: %s, %s, want %s, %s", n, ga, gb, wa, wb)
		}
	}
}

// TestSumHashes2 checks the two-at-once leaf and node hashes against the
// one-at-a-time ones.
func TestSumHashes2(t *testing.T) {
	if !useSHANI {
		t.Skip("this processor or build has no SHA-NI; the hashes use crypto/sha256")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		ida, idb := int64(rng.Uint64()), int64(rng.Uint64())
		ta, tb := rng.Uint64N(MaxTotalTickets), rng.Uint64N(MaxTotalTickets)
		ha, hb := sumLeafHash2(ida, ta, idb, tb)
		if ha != sumLeafHash(ida, ta) || hb != sumLeafHash(idb, tb) {
			t.Fatalf("leaves (%d, %d), (%d, %d) differ two at once", ida, ta, idb, tb)
		}
		la, ra, lb, rb := SumLeaf(ida, ta), SumLeaf(idb, tb), SumLeaf(idb, ta), SumLeaf(ida, tb)
		na, nb := sumNode2(la, ra, lb, rb)
		if na != sumNode(la, ra) || nb != sumNode(lb, rb) {
			t.Fatalf("nodes differ two at once: %v, %v", na, nb)
		}
	}
}

func BenchmarkSumLeafHash(b *testing.B) {
	var sink Hash
	for i := 0; b.Loop(); i++ {
		sink = sumLeafHash(int64(i), 1)
	}
	_ = sink
}

func BenchmarkSumNodeHash(b *testing.B) {
	var n Node
	for b.Loop() {
		n = sumNode(n, n)
	}
}

// BenchmarkSHA256Leaf and BenchmarkSHA256Node are the same messages through
// crypto/sha256, for comparison.
func BenchmarkSHA256Leaf(b *testing.B) {
	var msg [leafLen]byte
	var sink Hash
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(msg[1:], uint64(i))
		sink = sha256.Sum256(msg[:])
	}
	_ = sink
}

func BenchmarkSHA256Node(b *testing.B) {
	var msg [nodeLen]byte
	for b.Loop() {
		h := sha256.Sum256(msg[:])
		copy(msg[1:], h[:])
		copy(msg[41:], h[:])
	}
}

// TestSumRootChunk checks the level-by-level chunk root against
// sumRootSeq for every size up to a chunk, one ticket each and mixed.
func TestSumRootChunk(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ids := make([]int64, ChunkLeaves)
	tickets := make([]uint64, ChunkLeaves)
	for i := range ids {
		ids[i] = int64(i)*7919 + 13
		tickets[i] = 1 + rng.Uint64N(10)
	}
	for n := range ChunkLeaves + 1 {
		if got, want := sumRootChunk(ids[:n], nil), sumRootSeq(ids[:n], nil); got != want {
			t.Fatalf("%d entrants of one ticket: %v, want %v", n, got, want)
		}
		if got, want := sumRootChunk(ids[:n], tickets[:n]), sumRootSeq(ids[:n], tickets[:n]); got != want {
			t.Fatalf("%d entrants with tickets: %v, want %v", n, got, want)
		}
	}
}
