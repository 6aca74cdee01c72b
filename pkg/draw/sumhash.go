package draw

import (
	"crypto/sha256"
	"encoding/binary"
)

// The sum tree hashes tens of millions of short messages of two fixed
// sizes. Where the processor has SHA-NI, sumLeafHash and sumNodeHash lay
// each message out already padded and compress it from SHA-256's initial
// state, which halves the cost of crypto/sha256's general streaming path
// for messages this short; elsewhere they are sha256.Sum256. The results
// are identical, which the tests check against crypto/sha256.

// sha256IV is SHA-256's initial hash value.
var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

const (
	leafLen = 1 + 8 + 8    // 0x00 || user id || tickets
	nodeLen = 1 + 2*(32+8) // 0x01 || left hash, sum || right hash, sum
)

// sumLeafHash is SHA-256(0x00 || uint64_be(userID) || uint64_be(tickets)).
func sumLeafHash(userID int64, tickets uint64) Hash {
	var b [64]byte
	putLeaf(&b, userID, tickets)
	if !useSHANI {
		return sha256.Sum256(b[:leafLen])
	}
	return compress(b[:])
}

// sumLeafHash2 is sumLeafHash of two leaves at once.
func sumLeafHash2(idA int64, ticketsA uint64, idB int64, ticketsB uint64) (Hash, Hash) {
	var a, b [64]byte
	putLeaf(&a, idA, ticketsA)
	putLeaf(&b, idB, ticketsB)
	return compress2(a[:], b[:])
}

// putLeaf lays out a leaf's message as one block: the message, 0x80,
// zeros and its length in bits.
func putLeaf(b *[64]byte, userID int64, tickets uint64) {
	binary.BigEndian.PutUint64(b[1:], uint64(userID))
	binary.BigEndian.PutUint64(b[9:], tickets)
	b[leafLen] = 0x80
	binary.BigEndian.PutUint64(b[56:], leafLen*8)
}

// sumNodeHash is SHA-256(0x01 || l.Hash || uint64_be(l.Sum) || r.Hash ||
// uint64_be(r.Sum)).
func sumNodeHash(l, r Node) Hash {
	var b [128]byte
	putNode(&b, l, r)
	if !useSHANI {
		return sha256.Sum256(b[:nodeLen])
	}
	return compress(b[:])
}

// sumNode2 is sumNode of two pairs at once.
func sumNode2(la, ra, lb, rb Node) (Node, Node) {
	var a, b [128]byte
	putNode(&a, la, ra)
	putNode(&b, lb, rb)
	ha, hb := compress2(a[:], b[:])
	return Node{Hash: ha, Sum: la.Sum + ra.Sum}, Node{Hash: hb, Sum: lb.Sum + rb.Sum}
}

// putNode lays out a node's message as two blocks, padded as in putLeaf.
func putNode(b *[128]byte, l, r Node) {
	b[0] = 1
	copy(b[1:33], l.Hash[:])
	binary.BigEndian.PutUint64(b[33:41], l.Sum)
	copy(b[41:73], r.Hash[:])
	binary.BigEndian.PutUint64(b[73:81], r.Sum)
	b[nodeLen] = 0x80
	binary.BigEndian.PutUint64(b[120:], nodeLen*8)
}

// compress returns the digest of padded, a whole number of blocks that
// already hold SHA-256's padding.
func compress(padded []byte) Hash {
	h := sha256IV
	blockSHANI(&h, padded)
	return digest(&h)
}

// compress2 is compress of two messages of the same length at once.
func compress2(a, b []byte) (Hash, Hash) {
	ha, hb := sha256IV, sha256IV
	blockSHANI2(&ha, &hb, a, b)
	return digest(&ha), digest(&hb)
}

func digest(h *[8]uint32) Hash {
	var out Hash
	for i, w := range h {
		binary.BigEndian.PutUint32(out[4*i:], w)
	}
	return out
}

// sumRootChunk is sumRootSeq for a chunk of at most ChunkLeaves entrants.
// With SHA-NI it hashes the tree level by level, two leaves or two nodes
// at a time: pairing adjacent nodes and carrying an odd last one up
// unchanged gives the RFC 6962 shape, the same tree sumRootSeq hashes.
func sumRootChunk(ids []int64, tickets []uint64) Node {
	n := len(ids)
	if !useSHANI || n < 4 || n > ChunkLeaves {
		return sumRootSeq(ids, tickets)
	}
	var level [ChunkLeaves]Node
	i := 0
	for ; i+1 < n; i += 2 {
		ta, tb := ticketsAt(tickets, i), ticketsAt(tickets, i+1)
		ha, hb := sumLeafHash2(ids[i], ta, ids[i+1], tb)
		level[i], level[i+1] = Node{Hash: ha, Sum: ta}, Node{Hash: hb, Sum: tb}
	}
	if i < n {
		level[i] = SumLeaf(ids[i], ticketsAt(tickets, i))
	}
	for n > 1 {
		n = pairUp(level[:n])
	}
	return level[0]
}

// pairUp replaces the nodes of level by their parents, in place, an odd
// last node carried up as it is, and returns how many there are now.
func pairUp(level []Node) int {
	n, j, k := len(level), 0, 0
	for ; k+3 < n; k += 4 {
		level[j], level[j+1] = sumNode2(level[k], level[k+1], level[k+2], level[k+3])
		j += 2
	}
	if k+1 < n {
		level[j] = sumNode(level[k], level[k+1])
		j, k = j+1, k+2
	}
	if k < n {
		level[j] = level[k]
		j++
	}
	return j
}
