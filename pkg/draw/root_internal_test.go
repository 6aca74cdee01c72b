package draw

import "testing"

// TestRootParallelChunks drives the parallel path with tiny chunks, so that
// its chunking is checked on many shapes whatever the machine's core count.
func TestRootParallelChunks(t *testing.T) {
	e := make([]int64, 600)
	for i := range e {
		e[i] = int64(5*i + 1)
	}
	for n := 1; n <= len(e); n++ {
		want := rootSeq(e[:n])
		for shift := 0; shift <= 4; shift++ {
			if got := rootParallel(e[:n], 3, shift); got != want {
				t.Fatalf("n=%d shift=%d: rootParallel = %s, want %s", n, shift, got, want)
			}
		}
	}
}
