package redis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/testenv"
)

// TestCacheGetMany: the Redis cache reads several keys in one pipeline,
// in order, a missing or expired key as nil, under the client's prefix.
func TestCacheGetMany(t *testing.T) {
	c := open(t, testenv.RedisURL(t)).Cache()
	ctx := context.Background()
	if _, ok := c.(cache.Multi); !ok {
		t.Fatal("the Redis cache does not read several keys at once")
	}
	_ = c.Set(ctx, "a", []byte("1"), time.Minute)
	_ = c.Set(ctx, "c", []byte("3"), time.Minute)
	_ = c.Set(ctx, "gone", []byte("x"), 20*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	got, err := cache.GetMany(ctx, c, []string{"a", "b", "c", "gone", "a"})
	want := [][]byte{[]byte("1"), nil, []byte("3"), nil, []byte("1")}
	if err != nil || !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("GetMany = %q, %v; want %q", got, err, want)
	}
	if got, err := cache.GetMany(ctx, c, []string{"b"}); err != nil || len(got) != 1 || got[0] != nil {
		t.Fatalf("GetMany of a missing key = %q, %v", got, err)
	}
}
