package drawlog

import (
	"crypto/sha256"
	"fmt"

	"github.com/gowebpki/jcs"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafHash returns the RFC 6962 leaf hash of an entry's bytes,
// SHA-256(0x00 || entry).
func LeafHash(entry []byte) Hash {
	return Hash(rfc6962.DefaultHasher.HashLeaf(entry))
}

// EmptyRoot is the root hash of the empty log, SHA-256 of no bytes.
var EmptyRoot = Hash(rfc6962.DefaultHasher.EmptyRoot())

// RootHash returns the RFC 6962 Merkle Tree Hash over the given leaf hashes,
// in log order. It holds O(log n) hashes, so it suits a verifier that reads
// the whole log once.
func RootHash(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return EmptyRoot
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		// Append only fails for a range that does not start at 0.
		if err := r.Append(l[:], nil); err != nil {
			panic(err)
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	return Hash(root)
}

// VerifyInclusion checks that the leaf hash is at index in the tree of the
// given size and root, by the RFC 6962 / RFC 9162 audit path (leaf upwards).
func VerifyInclusion(index, size uint64, leaf Hash, path []Hash, root Hash) error {
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], byteSlices(path), root[:]); err != nil {
		return fmt.Errorf("drawlog: inclusion of entry %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size2 and root2 extends the tree
// of size1 and root1, by the RFC 6962 / RFC 9162 consistency proof.
func VerifyConsistency(size1, size2 uint64, p []Hash, root1, root2 Hash) error {
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, byteSlices(p), root1[:], root2[:]); err != nil {
		return fmt.Errorf("drawlog: consistency of tree size %d with %d: %w", size1, size2, err)
	}
	return nil
}

// RecordSHA256 returns the SHA-256 of a JSON document's RFC 8785 canonical
// form: for a v1 draw record (the draw object of the API), the value of its
// legacy entry's record_sha256.
func RecordSHA256(recordJSON []byte) (Hash, error) {
	canon, err := jcs.Transform(recordJSON)
	if err != nil {
		return Hash{}, fmt.Errorf("drawlog: canonicalizing record: %w", err)
	}
	return sha256.Sum256(canon), nil
}

// HashesFromBytes converts proof hashes given as byte strings, refusing any
// that is not 32 bytes.
func HashesFromBytes(b [][]byte) ([]Hash, error) {
	out := make([]Hash, len(b))
	for i, h := range b {
		if len(h) != len(Hash{}) {
			return nil, fmt.Errorf("drawlog: proof hash %d has %d bytes, want 32", i, len(h))
		}
		out[i] = Hash(h)
	}
	return out, nil
}

func byteSlices(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
