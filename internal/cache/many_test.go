package cache_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
)

// single is a Cache without GetMany, counting its reads.
type single struct {
	cache.Cache
	gets int
}

func (s *single) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.gets++
	return s.Cache.Get(ctx, key)
}

// TestGetMany: values come in the keys' order, nil for a miss, from a
// Multi in one call and from any other Cache one Get at a time; through
// Bypass a failing cache reads as all misses, counted once.
func TestGetMany(t *testing.T) {
	ctx := context.Background()
	m := cache.NewMemory(10, nil)
	_ = m.Set(ctx, "a", []byte("1"), time.Minute)
	_ = m.Set(ctx, "c", []byte("3"), time.Minute)
	want := [][]byte{[]byte("1"), nil, []byte("3"), []byte("1")}
	keys := []string{"a", "b", "c", "a"}
	for name, c := range map[string]cache.Cache{"memory": m, "bypass": &cache.Bypass{Cache: m}} {
		got, err := cache.GetMany(ctx, c, keys)
		if err != nil || !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: GetMany = %q, %v; want %q", name, got, err, want)
		}
	}
	s := &single{Cache: m}
	if got, err := cache.GetMany(ctx, s, keys); err != nil || !slices.EqualFunc(got, want, slices.Equal) || s.gets != len(keys) {
		t.Errorf("without Multi: GetMany = %q, %v after %d gets; want %q after %d", got, err, s.gets, want, len(keys))
	}

	b := &cache.Bypass{Cache: down{}}
	got, err := cache.GetMany(ctx, b, keys)
	if err != nil || len(got) != len(keys) || slices.ContainsFunc(got, func(v []byte) bool { return v != nil }) {
		t.Fatalf("a failing cache through Bypass: %q, %v; want %d misses", got, err, len(keys))
	}
	if b.Failures() != 1 {
		t.Fatalf("failures = %d, want 1", b.Failures())
	}
}
