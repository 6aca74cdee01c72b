package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/testenv"
)

// TestCoalescedChargesShareRedisRateBudget: concurrent charges, which go
// to Redis in shared pipelines, spend one budget exactly, each answered
// with its own remaining count; the budget is redis_rate's, on its key,
// so that redis_rate's own Allow finds it spent; and a Redis that lost its
// scripts gets the script loaded again.
func TestCoalescedChargesShareRedisRateBudget(t *testing.T) {
	u := testenv.RedisURL(t)
	prefix := "test:batch:" + time.Now().Format("150405.000000") + ":"
	c, err := redis.Open(redis.Options{URL: u, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opt)
	defer raw.Close()
	ctx := context.Background()
	if err := raw.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	lim := c.Limiter()
	budget := ratelimit.Per(10, time.Hour)
	var (
		mu        sync.Mutex
		remaining = map[int]int{}
		wg        sync.WaitGroup
	)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := lim.Allow(ctx, "caller:bot", budget)
			if err != nil {
				t.Error(err)
				return
			}
			if !res.Allowed {
				if res.RetryAfter <= 0 || res.RetryAfter > 6*time.Minute {
					t.Errorf("refused with RetryAfter %v", res.RetryAfter)
				}
				return
			}
			mu.Lock()
			remaining[res.Remaining]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(remaining) != 10 {
		t.Fatalf("allowed with remaining %v; want 0 to 9 once each", remaining)
	}
	for n, times := range remaining {
		if n < 0 || n > 9 || times != 1 {
			t.Fatalf("allowed with remaining %v; want 0 to 9 once each", remaining)
		}
	}
	res, err := redis_rate.NewLimiter(raw).Allow(ctx, prefix+"caller:bot",
		redis_rate.Limit{Rate: budget.Rate, Burst: budget.Burst, Period: budget.Period})
	if err != nil || res.Allowed != 0 {
		t.Fatalf("redis_rate on the same budget: %+v, %v; want it spent", res, err)
	}
	other, err := lim.Allow(ctx, "user:register:1", budget)
	if err != nil || !other.Allowed || other.Remaining != 9 {
		t.Fatalf("another key: %+v, %v", other, err)
	}
}
