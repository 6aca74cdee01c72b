package draw

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// TestNextHitStopsAtTheLimit: two entrants, one holding all but one of
// 2^53-1 tickets. Drawing the second one would take about 2^53 stream
// values; the selection stops at its bound instead of running on.
func TestNextHitStopsAtTheLimit(t *testing.T) {
	tree, err := NewSumTree([]int64{1, 2}, []uint64{1, 1<<53 - 2})
	if err != nil {
		t.Fatal(err)
	}
	st := NewStream(sha256.Sum256([]byte("limit")))
	chosen := newIndexSet(2, true)
	p, ok, err := nextHit(st, tree, chosen, 1000)
	if err != nil || !ok || p.UserID != 2 || p.StreamIndex != 0 {
		t.Fatalf("first pick %+v, %t, %v", p, ok, err)
	}
	if _, _, err := nextHit(st, tree, chosen, 1000); !errors.Is(err, ErrStreamLimit) {
		t.Fatalf("second pick: %v, want ErrStreamLimit", err)
	}
	if st.Consumed() != 1000 {
		t.Errorf("read %d values, want the limit of 1000", st.Consumed())
	}
}
