package upstream_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
)

// countingCache counts the reads of a cache, one GetMany as one.
type countingCache struct {
	*cache.Memory
	reads atomic.Int64
}

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.reads.Add(1)
	return c.Memory.Get(ctx, key)
}

func (c *countingCache) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	c.reads.Add(1)
	return c.Memory.GetMany(ctx, keys)
}

// TestMembershipsReadTheCacheOnce: a check of three chats with a warm
// cache reads it in one call and asks Telegram nothing; with one chat
// cold, it reads once and asks Telegram about that chat alone.
func TestMembershipsReadTheCacheOnce(t *testing.T) {
	c := &countingCache{Memory: cache.NewMemory(1000, nil)}
	b := newBot(t, func(o *upstream.Options) { o.Cache = c; o.CacheTTL = time.Minute })
	a, bb := participant.ChatByUsername("chan_a"), participant.ChatByID(chanB)
	b.tg.SetMember("-1001003", member, telegramtest.Joined)
	g := participant.ChatByID(group)
	if ms, err := b.check(t, member, a, bb, g); err != nil || !ms[0].IsMember || !ms[1].IsMember || !ms[2].IsMember {
		t.Fatalf("cold check: %+v, %v", ms, err)
	}
	if n := c.reads.Load(); n != 1 {
		t.Fatalf("the cold check read the cache %d times, want 1", n)
	}
	before := b.tg.Total()
	if ms, err := b.check(t, member, a, bb, g); err != nil || !ms[0].IsMember || !ms[1].IsMember || !ms[2].IsMember || ms[0].Chat != a || ms[2].Chat != g {
		t.Fatalf("warm check: %+v, %v", ms, err)
	}
	if n := c.reads.Load(); n != 2 {
		t.Fatalf("the warm check of three chats read the cache %d times, want 1", n-1)
	}
	if n := b.tg.Total() - before; n != 0 {
		t.Fatalf("the warm check asked Telegram %d times, want 0", n)
	}
	// One chat's answer expires: only it is asked again.
	_ = c.Delete(context.Background(), "membership:9:-1001002:"+strconv.FormatInt(member, 10))
	if ms, err := b.check(t, member, a, bb, g); err != nil || !ms[1].IsMember {
		t.Fatalf("check with one chat cold: %+v, %v", ms, err)
	}
	if n := b.tg.Total() - before; n != 1 || b.tg.Requests("-1001002", member) != 2 {
		t.Fatalf("with one chat cold Telegram was asked %d times (%d about it), want once about it", n, b.tg.Requests("-1001002", member))
	}
}
