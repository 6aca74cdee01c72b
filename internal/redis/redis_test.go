package redis_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/testenv"
)

// open connects to the test Redis with a key prefix of the test's own.
func open(t *testing.T, rawURL string) *redis.Client {
	t.Helper()
	c, err := redis.Open(redis.Options{URL: rawURL, KeyPrefix: "test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// twoReplicas connects two clients to the test Redis with one key prefix
// of the test's own, as two replicas of the service.
func twoReplicas(t *testing.T) (*redis.Client, *redis.Client) {
	t.Helper()
	u := testenv.RedisURL(t)
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	a, _ := redis.Open(redis.Options{URL: u, KeyPrefix: prefix})
	b, _ := redis.Open(redis.Options{URL: u, KeyPrefix: prefix})
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestLeasedPodsShareOneBudget: two pods, each leasing from its own client,
// hand out no more than the shared budget in Redis, and the requests
// they took from it cover every one handed out.
func TestLeasedPodsShareOneBudget(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	l := ratelimit.Per(600, time.Hour)
	pods := []*ratelimit.Leased{
		ratelimit.NewLeased(a.Limiter(), ratelimit.LeaseOptions{}),
		ratelimit.NewLeased(b.Limiter(), ratelimit.LeaseOptions{}),
	}
	allowed := 0
	for i := range 900 {
		res, err := pods[i%2].Allow(ctx, "caller:bot", l)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed {
			allowed++
		}
	}
	// Redis has nothing left (one request refills in 6 s).
	left, err := a.Limiter().AllowN(ctx, "caller:bot", l, 1)
	if err != nil {
		t.Fatal(err)
	}
	if allowed > l.Burst || left.Allowed {
		t.Fatalf("handed out %d of a budget of %d, and Redis then allowed %v", allowed, l.Burst, left.Allowed)
	}
	if allowed < l.Burst*9/10 {
		t.Fatalf("handed out %d of a budget of %d; want at most a tenth lapsed", allowed, l.Burst)
	}
	t.Logf("900 requests on two leasing pods: %d allowed of %d", allowed, l.Burst)
}

// TestLimiterBudgetIsShared: two clients, as two replicas, share one
// budget, which holds exactly.
func TestLimiterBudgetIsShared(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	l := ratelimit.Per(10, time.Hour)
	allowed := 0
	for i := range 20 {
		lim := a.Limiter()
		if i%2 == 1 {
			lim = b.Limiter()
		}
		res, err := lim.Allow(ctx, "caller:bot", l)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed {
			allowed++
			if res.Remaining != 10-allowed {
				t.Fatalf("remaining = %d after %d allowed", res.Remaining, allowed)
			}
		} else if res.RetryAfter <= 0 || res.RetryAfter > 6*time.Minute {
			t.Fatalf("refused with RetryAfter %v", res.RetryAfter)
		}
	}
	if allowed != 10 {
		t.Fatalf("allowed %d of 20 against a budget of 10", allowed)
	}
}

func TestCache(t *testing.T) {
	c := open(t, testenv.RedisURL(t)).Cache()
	ctx := context.Background()
	if _, ok, err := c.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("empty get: %v %v", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, "k"); !ok || err != nil || string(v) != "v" {
		t.Fatalf("get = %q %v %v", v, ok, err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx, "k"); ok {
		t.Fatal("deleted key still there")
	}
	_ = c.Set(ctx, "short", []byte("v"), 50*time.Millisecond)
	time.Sleep(120 * time.Millisecond)
	if _, ok, _ := c.Get(ctx, "short"); ok {
		t.Fatal("the TTL was not applied")
	}
}

// TestOutageAndRecovery: with Redis gone the wrappers degrade as
// documented (limiter allows, cache misses) and the client recovers by
// itself when Redis is back on the same address.
func TestOutageAndRecovery(t *testing.T) {
	u, _ := url.Parse(testenv.RedisURL(t))
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	c := open(t, u.String())
	ctx := context.Background()
	limiter := &ratelimit.FailOpen{Limiter: c.Limiter()}
	shared := &cache.Bypass{Cache: c.Cache()}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	_ = shared.Set(ctx, "k", []byte("v"), time.Minute)

	proxy.Stop()
	if err := c.Ping(ctx); err == nil {
		t.Fatal("ping succeeded with Redis gone")
	}
	start := time.Now()
	res, _ := limiter.Allow(ctx, "k", ratelimit.Per(1, time.Hour))
	if !res.Allowed || limiter.Failures() != 1 {
		t.Fatalf("limiter during the outage: %+v, failures %d", res, limiter.Failures())
	}
	if _, ok, err := shared.Get(ctx, "k"); ok || err != nil || shared.Failures() == 0 {
		t.Fatalf("cache during the outage: %v %v failures %d", ok, err, shared.Failures())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("degraded calls took %v; a dead Redis must cost little", d)
	}

	proxy.Start()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the client did not reconnect")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, ok, _ := shared.Get(ctx, "k"); !ok || string(v) != "v" {
		t.Fatalf("after recovery the cache serves again: %q %v", v, ok)
	}
}
