package draw_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

// seed derives a fixed seed per label and number, so every property test
// below sees the same stream on every run and cannot flake.
func seed(label string, i int) draw.Hash {
	return sha256.Sum256(fmt.Appendf(nil, "%s/%d", label, i))
}

func TestStreamBlocks(t *testing.T) {
	s := seed("blocks", 0)
	st := draw.NewStream(s)
	for block := range uint64(3) {
		mac := hmac.New(sha256.New, s[:])
		mac.Write(binary.BigEndian.AppendUint64([]byte("stream"), block))
		b := mac.Sum(nil)
		for v := range 4 {
			want := binary.BigEndian.Uint64(b[8*v:])
			if got := st.Uint64(); got != want {
				t.Fatalf("block %d value %d = %d, want %d", block, v, got, want)
			}
		}
	}
	if got := st.Consumed(); got != 12 {
		t.Errorf("Consumed = %d, want 12", got)
	}
}

// refUniform is uniform(m) computed with big integers straight from the
// protocol's wording, on its own copy of the stream.
func refUniform(st *draw.Stream, m uint64) uint64 {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	bm := new(big.Int).SetUint64(m)
	limit := new(big.Int).Sub(two64, new(big.Int).Mod(two64, bm))
	for {
		x := new(big.Int).SetUint64(st.Uint64())
		if x.Cmp(limit) < 0 {
			return x.Mod(x, bm).Uint64()
		}
	}
}

func TestUniformMatchesReference(t *testing.T) {
	ms := []uint64{1, 2, 3, 7, 1000, 1 << 32, 1<<32 + 1, 3 << 62, 1 << 63, 1<<63 + 1, 1<<64 - 1}
	for _, m := range ms {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			s := seed("uniform", int(m%1000))
			got, want := draw.NewStream(s), draw.NewStream(s)
			for range 200 {
				if g, w := got.Uniform(m), refUniform(want, m); g != w || g >= m {
					t.Fatalf("Uniform(%d) = %d, want %d", m, g, w)
				}
			}
			if got.Consumed() != want.Consumed() {
				t.Fatalf("consumed %d values, reference %d", got.Consumed(), want.Consumed())
			}
			// Powers of two and 1 never reject; 2^63+1 rejects about half.
			switch {
			case m&(m-1) == 0 && got.Consumed() != 200:
				t.Errorf("m=%d consumed %d values for 200 draws, want exactly 200", m, got.Consumed())
			case m == 1<<63+1 && got.Consumed() < 300:
				t.Errorf("m=2^63+1 consumed only %d values for 200 draws", got.Consumed())
			}
		})
	}
}

// chiSquare returns the Pearson statistic of counts against a uniform
// expectation.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

// TestWinnerUniformity checks that every position's winner index is uniform.
// Under a correct implementation each statistic is chi-square distributed
// with 19 degrees of freedom, which exceeds 80 with probability 1.9e-9; the
// seeds are fixed, so this is the chance that the one set of seeds in use
// happens to fail a correct implementation. An off-by-one in the shuffle, or
// modulo bias, pushes the statistic into the thousands.
func TestWinnerUniformity(t *testing.T) {
	const n, k, draws = 20, 3, 20000
	counts := make([][]int, k)
	for j := range counts {
		counts[j] = make([]int, n)
	}
	for d := range draws {
		for j, i := range draw.Select(seed("chi", d), n, k) {
			counts[j][i]++
		}
	}
	for j := range counts {
		x := chiSquare(counts[j], draws)
		t.Logf("position %d: chi-square %.1f", j+1, x)
		if x > 80 {
			t.Errorf("position %d: chi-square %.1f > 80, counts %v", j+1, x, counts[j])
		}
	}
}

// TestUniformNoModuloBias uses m = 3*2^62, where taking x mod m without
// rejection would put half of all draws in the lowest third. The top two bits
// of the results then fall in three equally likely buckets; with 2 degrees
// of freedom the statistic exceeds 40 with probability 2.1e-9.
func TestUniformNoModuloBias(t *testing.T) {
	const m, draws = 3 << 62, 30000
	st := draw.NewStream(seed("bias", 0))
	counts := make([]int, 3)
	for range draws {
		counts[st.Uniform(m)>>62]++
	}
	x := chiSquare(counts, draws)
	t.Logf("chi-square %.1f, counts %v", x, counts)
	if x > 40 {
		t.Errorf("chi-square %.1f > 40, counts %v", x, counts)
	}
}

func TestSelectProperties(t *testing.T) {
	for c := range 200 {
		s := seed("props", c)
		n := uint64(1 + c%37)
		k := uint64(c % 41)
		got := draw.Select(s, n, k)
		if want := min(k, n); uint64(len(got)) != want {
			t.Fatalf("n=%d k=%d: %d winners, want %d", n, k, len(got), want)
		}
		seen := make(map[uint64]bool)
		for _, i := range got {
			if i >= n || seen[i] {
				t.Fatalf("n=%d k=%d: bad or repeated index %d in %v", n, k, i, got)
			}
			seen[i] = true
		}
		if k >= n && len(seen) != int(n) {
			t.Fatalf("n=%d k=%d: %d distinct winners, want all %d", n, k, len(seen), n)
		}
		if again := draw.Select(s, n, k); !slices.Equal(got, again) {
			t.Fatalf("n=%d k=%d: Select not deterministic: %v then %v", n, k, got, again)
		}
	}
	if a, b := draw.Select(seed("props", 0), 1000, 10), draw.Select(seed("props", 1), 1000, 10); slices.Equal(a, b) {
		t.Errorf("different seeds gave the same winners %v", a)
	}
	if got := draw.Select(seed("props", 0), 0, 5); len(got) != 0 {
		t.Errorf("Select over no entrants = %v", got)
	}
}

// TestPermutationMatchesDense compares the sparse shuffle with a textbook
// Fisher-Yates over a full slice, driven by the same stream.
func TestPermutationMatchesDense(t *testing.T) {
	for n := uint64(0); n <= 64; n++ {
		s := seed("dense", int(n))
		perm := make([]uint64, n)
		for i := range perm {
			perm[i] = uint64(i)
		}
		st := draw.NewStream(s)
		for j := range n {
			r := j + st.Uniform(n-j)
			perm[j], perm[r] = perm[r], perm[j]
		}
		p := draw.NewPermutation(s, n)
		for j := range n {
			if p.J() != j {
				t.Fatalf("n=%d: J() = %d before step %d", n, p.J(), j)
			}
			got, ok := p.Next()
			if !ok || got != perm[j] {
				t.Fatalf("n=%d step %d: Next() = %d, %t; want %d", n, j, got, ok, perm[j])
			}
		}
		if _, ok := p.Next(); ok {
			t.Fatalf("n=%d: Next() succeeded after all entrants were drawn", n)
		}
	}
}

func BenchmarkSelect(b *testing.B) {
	s := seed("bench", 0)
	for b.Loop() {
		draw.Select(s, 10_000_000, 100)
	}
}
