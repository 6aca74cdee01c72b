package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
)

func TestMemoryExpiresAndEvicts(t *testing.T) {
	now := time.Unix(0, 0)
	m := cache.NewMemory(2, func() time.Time { return now })
	ctx := context.Background()
	_ = m.Set(ctx, "a", []byte("1"), time.Minute)
	_ = m.Set(ctx, "b", []byte("2"), time.Minute)
	if v, ok, _ := m.Get(ctx, "a"); !ok || string(v) != "1" {
		t.Fatalf("a = %q %v", v, ok)
	}
	_ = m.Set(ctx, "c", []byte("3"), time.Minute) // evicts b, the least recently used
	if _, ok, _ := m.Get(ctx, "b"); ok {
		t.Fatal("b should have been evicted")
	}
	now = now.Add(time.Minute)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("a should have expired")
	}
	if ok, _ := m.Add(ctx, "n", nil, time.Minute); !ok {
		t.Fatal("first Add must store")
	}
	if ok, _ := m.Add(ctx, "n", nil, time.Minute); ok {
		t.Fatal("second Add must refuse")
	}
	_ = m.Delete(ctx, "n")
	if ok, _ := m.Add(ctx, "n", nil, time.Minute); !ok {
		t.Fatal("Add after Delete must store")
	}
}

type down struct{}

func (down) Get(context.Context, string) ([]byte, bool, error) { return nil, false, errors.New("down") }
func (down) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("down")
}
func (down) Delete(context.Context, ...string) error { return errors.New("down") }

func TestBypassTurnsFailuresIntoMisses(t *testing.T) {
	b := &cache.Bypass{Cache: down{}}
	ctx := context.Background()
	if err := b.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("get = %v, %v; want a miss", ok, err)
	}
	if b.Failures() != 2 {
		t.Fatalf("failures = %d, want 2", b.Failures())
	}
}
