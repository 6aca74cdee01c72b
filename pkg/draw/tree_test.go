package draw_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

// refMTH is RFC 6962 section 2.1 transcribed literally, as the reference the
// optimised Root is compared with.
func refMTH(d []int64) [32]byte {
	switch n := len(d); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		leaf := binary.BigEndian.AppendUint64([]byte{0x00}, uint64(d[0]))
		return sha256.Sum256(leaf)
	default:
		k := refSplit(n)
		l, r := refMTH(d[:k]), refMTH(d[k:])
		return sha256.Sum256(append(append([]byte{0x01}, l[:]...), r[:]...))
	}
}

// refSplit finds the largest power of two strictly below n by counting up.
func refSplit(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// refPath is RFC 6962 section 2.1.1: PATH(m, D[n]).
func refPath(m int, d []int64) [][32]byte {
	if len(d) <= 1 {
		return nil
	}
	k := refSplit(len(d))
	if m < k {
		return append(refPath(m, d[:k]), refMTH(d[k:]))
	}
	return append(refPath(m-k, d[k:]), refMTH(d[:k]))
}

// entrants returns n ascending ids with gaps, so that an index and its user
// id never coincide.
func entrants(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(3*i + 7)
	}
	return out
}

func checkProof(t *testing.T, e []int64, root draw.Hash, i int, got []draw.Hash) {
	t.Helper()
	want := refPath(i, e)
	if len(got) != len(want) {
		t.Fatalf("n=%d i=%d: path length %d, want %d", len(e), i, len(got), len(want))
	}
	for l := range want {
		if got[l] != draw.Hash(want[l]) {
			t.Fatalf("n=%d i=%d: path[%d] = %s, want %x", len(e), i, l, got[l], want[l])
		}
	}
	if err := draw.VerifyInclusion(e[i], uint64(i), uint64(len(e)), got, root); err != nil {
		t.Fatalf("n=%d i=%d: %v", len(e), i, err)
	}
}

func TestRootAndProofsMatchReference(t *testing.T) {
	for n := 0; n <= 300; n++ {
		e := entrants(n)
		root := draw.Root(e)
		if want := draw.Hash(refMTH(e)); root != want {
			t.Fatalf("n=%d: Root = %s, want %s", n, root, want)
		}
		for i := range e {
			// Every index for small trees; beyond that, the edges and a
			// stride keep the quadratic reference affordable.
			if n > 64 && i%13 != 0 && i != n-1 && i != n/2 {
				continue
			}
			path, err := draw.InclusionProof(e, uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			checkProof(t, e, root, i, path)
		}
		if _, err := draw.InclusionProof(e, uint64(n)); err == nil {
			t.Errorf("n=%d: InclusionProof accepted index %d", n, n)
		}
	}
}

func TestRootLarge(t *testing.T) {
	// Sizes on both sides of the parallel threshold, powers of two and
	// neighbours, and one with a ragged last chunk.
	for _, n := range []int{1<<15 - 1, 1 << 15, 1<<15 + 1, 1 << 16, 1<<17 + 12345} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := entrants(n)
			root := draw.Root(e)
			if want := draw.Hash(refMTH(e)); root != want {
				t.Fatalf("Root = %s, want %s", root, want)
			}
			for _, i := range []int{0, 1, n / 3, n/2 + 1, min(1<<15, n-3), n - 2, n - 1} {
				path, err := draw.InclusionProof(e, uint64(i))
				if err != nil {
					t.Fatal(err)
				}
				checkProof(t, e, root, i, path)
			}
		})
	}
}

func TestEmptyRoot(t *testing.T) {
	const want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := draw.Root(nil).String(); got != want {
		t.Errorf("Root(nil) = %s, want %s", got, want)
	}
}

func TestVerifyInclusionRejects(t *testing.T) {
	e := entrants(300)
	root := draw.Root(e)
	const i = 137
	path, err := draw.InclusionProof(e, i)
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(l, bit int) []draw.Hash {
		p := append([]draw.Hash(nil), path...)
		p[l][bit/8] ^= 1 << (bit % 8)
		return p
	}
	cases := []struct {
		name        string
		user        int64
		index, size uint64
		path        []draw.Hash
		root        draw.Hash
	}{
		{"flipped bit in first hash", e[i], i, 300, flipped(0, 0), root},
		{"flipped bit in last hash", e[i], i, 300, flipped(len(path)-1, 255), root},
		{"flipped bit in root", e[i], i, 300, path, func() draw.Hash { r := root; r[31] ^= 1; return r }()},
		{"wrong user", e[i+1], i, 300, path, root},
		{"wrong index", e[i], i + 1, 300, path, root},
		{"wrong index, sibling", e[i], i ^ 1, 300, path, root},
		{"index out of range", e[i], 300, 300, path, root},
		// A size is only caught when it changes the tree's shape around the
		// leaf (299 or 512 would not: there the root alone binds the size).
		{"smaller perfect size", e[i], i, 256, path, root},
		{"smaller size", e[i], i, 200, path, root},
		{"leaf last", e[i], i, i + 1, path, root},
		{"larger size", e[i], i, 1000, path, root},
		{"path too short", e[i], i, 300, path[:len(path)-1], root},
		{"path too long", e[i], i, 300, append(append([]draw.Hash(nil), path...), root), root},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := draw.VerifyInclusion(c.user, c.index, c.size, c.path, c.root)
			if !errors.Is(err, draw.ErrInvalidProof) {
				t.Errorf("VerifyInclusion = %v, want ErrInvalidProof", err)
			}
		})
	}
}

func BenchmarkRoot(b *testing.B) {
	e := entrants(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		draw.Root(e)
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	e := entrants(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := draw.InclusionProof(e, 765_432); err != nil {
			b.Fatal(err)
		}
	}
}
