package draw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// DrawSeed returns HMAC-SHA256(key = serverSeed, message = Version ||
// uint64_be(giveawayID) || root || uint64_be(n) || beacon). Keying with the
// committed seed keeps the result unpredictable to everyone but the server
// until the reveal, while the message binds it to this giveaway and this
// exact entrant list.
func DrawSeed(serverSeed []byte, giveawayID int64, root Hash, n uint64, beacon []byte) Hash {
	mac := hmac.New(sha256.New, serverSeed)
	mac.Write([]byte(Version))
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(giveawayID)))
	mac.Write(root[:])
	mac.Write(binary.BigEndian.AppendUint64(nil, n))
	mac.Write(beacon)
	var h Hash
	mac.Sum(h[:0])
	return h
}

// DrawSeedV2 returns the draw seed of telegive-draw-v2:
// HMAC-SHA256(key = serverSeed, message = "telegive-draw-v2" ||
// uint64_be(giveawayID) || root || uint64_be(n) || uint64_be(total) ||
// chainHash || uint64_be(beaconRound) || randomness). randomness is
// SHA-256 of the beacon round's signature (beacon.Randomness), computed by
// whoever calls this, never taken from a relay.
func DrawSeedV2(serverSeed []byte, giveawayID int64, root Hash, n, total uint64, chainHash Hash, beaconRound uint64, randomness [32]byte) Hash {
	mac := hmac.New(sha256.New, serverSeed)
	mac.Write([]byte(VersionV2))
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(giveawayID)))
	mac.Write(root[:])
	mac.Write(binary.BigEndian.AppendUint64(nil, n))
	mac.Write(binary.BigEndian.AppendUint64(nil, total))
	mac.Write(chainHash[:])
	mac.Write(binary.BigEndian.AppendUint64(nil, beaconRound))
	mac.Write(randomness[:])
	var h Hash
	mac.Sum(h[:0])
	return h
}

// A Stream is the deterministic random stream of a draw: block i is
// HMAC-SHA256(key = seed, message = "stream" || uint64_be(i)), read as four
// big-endian uint64 values.
type Stream struct {
	mac   hash.Hash
	msg   []byte   // the block's message: a fixed prefix, then 8 bytes of block index
	block uint64   // index of the next block to compute
	buf   [32]byte // current block
	off   int      // bytes of buf already used
	used  uint64   // values returned so far
}

// NewStream returns the stream of the given draw seed, positioned at its
// first value.
func NewStream(seed Hash) *Stream { return newStream(seed, []byte("stream")) }

// NewRedrawStream returns the stream of redraw round r (from 1) of a v2
// draw: block i is HMAC-SHA256(key = seed, message = "redraw" ||
// uint64_be(r) || randomness || "stream" || uint64_be(i)), where randomness
// is SHA-256 of the round's beacon signature.
func NewRedrawStream(seed Hash, r uint64, randomness [32]byte) *Stream {
	prefix := binary.BigEndian.AppendUint64([]byte("redraw"), r)
	prefix = append(prefix, randomness[:]...)
	return newStream(seed, append(prefix, "stream"...))
}

func newStream(seed Hash, prefix []byte) *Stream {
	s := &Stream{mac: hmac.New(sha256.New, seed[:]), msg: append(prefix, make([]byte, 8)...)}
	s.off = len(s.buf)
	return s
}

// Uint64 returns the next value of the stream.
func (s *Stream) Uint64() uint64 {
	if s.off == len(s.buf) {
		binary.BigEndian.PutUint64(s.msg[len(s.msg)-8:], s.block)
		s.mac.Reset()
		s.mac.Write(s.msg)
		s.mac.Sum(s.buf[:0])
		s.block++
		s.off = 0
	}
	v := binary.BigEndian.Uint64(s.buf[s.off:])
	s.off += 8
	s.used++
	return v
}

// Consumed returns how many values the stream has returned, including those
// that Uniform rejected.
func (s *Stream) Consumed() uint64 { return s.used }

// Uniform returns a uniformly distributed value in [0, m) by rejection
// sampling: values at or above 2^64 - (2^64 mod m) are drawn again, since
// they would make the low residues more likely. It panics if m is 0.
func (s *Stream) Uniform(m uint64) uint64 {
	if m == 0 {
		panic("draw: Uniform called with m == 0")
	}
	// In uint64 arithmetic -m is 2^64 - m, which is congruent to 2^64.
	rem := -m % m
	for {
		x := s.Uint64()
		if rem == 0 || x < -rem {
			return x % m
		}
	}
}

// A Permutation is a partial Fisher-Yates shuffle of 0..n-1 driven by a
// Stream. Only the entries displaced by a swap are stored, so memory grows
// with the number of steps taken, not with n.
type Permutation struct {
	stream *Stream
	n      uint64
	j      uint64
	moved  map[uint64]uint64 // perm[i] for the positions i >= j that differ from i
}

// NewPermutation returns the shuffle of 0..n-1 for the given draw seed,
// before its first step.
func NewPermutation(seed Hash, n uint64) *Permutation {
	return &Permutation{stream: NewStream(seed), n: n, moved: make(map[uint64]uint64)}
}

// Next runs step j of the shuffle, r = j + uniform(n - j) and a swap of
// perm[j] and perm[r], and returns the new perm[j]. It reports false,
// consuming nothing, once all n entries have been drawn.
func (p *Permutation) Next() (index uint64, ok bool) {
	if p.j >= p.n {
		return 0, false
	}
	j := p.j
	r := j + p.stream.Uniform(p.n-j)
	index = p.at(r)
	if r != j {
		p.moved[r] = p.at(j)
	}
	// Later steps only read positions above j.
	delete(p.moved, j)
	p.j++
	return index, true
}

// J returns the number of steps taken, which is the j of the next step.
func (p *Permutation) J() uint64 { return p.j }

func (p *Permutation) at(i uint64) uint64 {
	if v, ok := p.moved[i]; ok {
		return v
	}
	return i
}

// Select returns the entrant indices of the first min(k, n) winners of the
// draw with the given seed over n entrants, in position order.
func Select(seed Hash, n, k uint64) []uint64 {
	k = min(k, n)
	p := NewPermutation(seed, n)
	out := make([]uint64, 0, k)
	for range k {
		i, _ := p.Next()
		out = append(out, i)
	}
	return out
}
