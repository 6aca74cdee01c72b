package drawlog_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/telegive/participant-service/pkg/drawlog"
)

func TestLeafHashIsRFC6962(t *testing.T) {
	entry := []byte(`{"type":"legacy"}`)
	want := sha256.Sum256(append([]byte{0}, entry...))
	if got := drawlog.LeafHash(entry); got != drawlog.Hash(want) {
		t.Errorf("LeafHash = %s, want SHA-256(0x00 || entry) = %x", got, want)
	}
	if want := sha256.Sum256(nil); drawlog.RootHash(nil) != drawlog.Hash(want) {
		t.Errorf("RootHash(nil) = %s, want SHA-256 of nothing %x", drawlog.RootHash(nil), want)
	}
}

// referenceTree holds n leaves in transparency-dev's reference tree.
func referenceTree(n int) (*testonly.Tree, []drawlog.Hash) {
	tree := testonly.New(rfc6962.DefaultHasher)
	var leaves []drawlog.Hash
	for i := range n {
		data := fmt.Appendf(nil, "entry %d", i)
		tree.AppendData(data)
		leaves = append(leaves, drawlog.LeafHash(data))
	}
	return tree, leaves
}

func hashes(t *testing.T, b [][]byte) []drawlog.Hash {
	t.Helper()
	h, err := drawlog.HashesFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRootHashMatchesReference(t *testing.T) {
	tree, leaves := referenceTree(33)
	for n := 0; n <= len(leaves); n++ {
		if got, want := drawlog.RootHash(leaves[:n]), drawlog.Hash(tree.HashAt(uint64(n))); got != want {
			t.Errorf("RootHash of %d leaves = %s, want %s", n, got, want)
		}
	}
}

func TestVerifyInclusion(t *testing.T) {
	tree, leaves := referenceTree(21)
	root := drawlog.Hash(tree.Hash())
	for i := range leaves {
		p := hashes(t, must(tree.InclusionProof(uint64(i), 21)))
		if err := drawlog.VerifyInclusion(uint64(i), 21, leaves[i], p, root); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if i == 0 {
			continue
		}
		if err := drawlog.VerifyInclusion(uint64(i), 21, leaves[i-1], p, root); err == nil {
			t.Errorf("leaf %d: another leaf's hash verified", i)
		}
		if err := drawlog.VerifyInclusion(uint64(i-1), 21, leaves[i], p, root); err == nil {
			t.Errorf("leaf %d: the proof verified at index %d", i, i-1)
		}
		bad := append([]drawlog.Hash(nil), p...)
		bad[len(bad)-1][0] ^= 1
		if err := drawlog.VerifyInclusion(uint64(i), 21, leaves[i], bad, root); err == nil {
			t.Errorf("leaf %d: an altered proof verified", i)
		}
		if err := drawlog.VerifyInclusion(uint64(i), 21, leaves[i], p[:len(p)-1], root); err == nil {
			t.Errorf("leaf %d: a shortened proof verified", i)
		}
		other := root
		other[31] ^= 1
		if err := drawlog.VerifyInclusion(uint64(i), 21, leaves[i], p, other); err == nil {
			t.Errorf("leaf %d: the proof verified under another root", i)
		}
	}
}

func TestVerifyConsistency(t *testing.T) {
	tree, _ := referenceTree(21)
	for size1 := uint64(1); size1 <= 21; size1++ {
		for _, size2 := range []uint64{size1, size1 + 1, 21} {
			if size2 > 21 {
				continue
			}
			r1, r2 := drawlog.Hash(tree.HashAt(size1)), drawlog.Hash(tree.HashAt(size2))
			p := hashes(t, must(tree.ConsistencyProof(size1, size2)))
			if err := drawlog.VerifyConsistency(size1, size2, p, r1, r2); err != nil {
				t.Fatalf("%d to %d: %v", size1, size2, err)
			}
			if len(p) == 0 {
				continue
			}
			bad := append([]drawlog.Hash(nil), p...)
			bad[0][5] ^= 0x80
			if err := drawlog.VerifyConsistency(size1, size2, bad, r1, r2); err == nil {
				t.Errorf("%d to %d: an altered proof verified", size1, size2)
			}
		}
	}
	// A log rewritten after size 8 is not consistent with the original.
	forked, _ := referenceTree(8)
	forked.AppendData([]byte("rewritten entry"))
	for range 12 {
		forked.AppendData([]byte("later"))
	}
	p := hashes(t, must(forked.ConsistencyProof(10, 21)))
	if err := drawlog.VerifyConsistency(10, 21, p, drawlog.Hash(tree.HashAt(10)), drawlog.Hash(forked.Hash())); err == nil {
		t.Error("a fork verified as consistent")
	}
}

func TestHashesFromBytesRefusesShortHashes(t *testing.T) {
	if _, err := drawlog.HashesFromBytes([][]byte{make([]byte, 32), make([]byte, 31)}); err == nil {
		t.Error("a 31-byte hash was accepted")
	}
}

func TestRecordSHA256IsOverCanonicalJSON(t *testing.T) {
	a, err := drawlog.RecordSHA256([]byte(`{ "b": 1, "a": "<x>" }`))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(`{"a":"<x>","b":1}`)); a != drawlog.Hash(want) {
		t.Errorf("RecordSHA256 = %s, want %x", a, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
