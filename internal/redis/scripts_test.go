package redis_test

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/testenv"
)

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// together runs f n times at once, each in its own goroutine, released
// together.
func together(n int, f func(i int)) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			f(i)
		})
	}
	close(gate)
	wg.Wait()
}

// TestConcurrentChargesShareRoundTrips: charges made at the same time go
// to Redis in fewer round trips than charges, and each is still exact:
// one budget charged 300 times at once allows its burst and no more, and
// a limiter that charges one command at a time on the same key (as
// redis_rate alone does) finds it spent.
func TestConcurrentChargesShareRoundTrips(t *testing.T) {
	u := testenv.RedisURL(t)
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	c, err := redis.Open(redis.Options{URL: u, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	l := c.Limiter()
	if _, err := l.Allow(ctx, "warm", ratelimit.Per(1, time.Hour)); err != nil {
		t.Fatal(err) // loads the script and opens a connection
	}
	var trips roundTrips
	c.Universal().AddHook(&trips)

	const users, shared = 400, 300
	budget := ratelimit.Limit{Rate: 100, Burst: 100, Period: time.Hour}
	var allowed, failed atomic.Int64
	together(users+shared, func(i int) {
		key := "user:" + strconv.Itoa(i)
		lim := ratelimit.Per(5, time.Minute)
		if i >= users {
			key, lim = "shared", budget
		}
		res, err := l.Allow(ctx, key, lim)
		switch {
		case err != nil:
			failed.Add(1)
			t.Log(err)
		case res.Allowed && i >= users:
			allowed.Add(1)
		case !res.Allowed && i < users:
			t.Errorf("a fresh user's first charge was refused: %+v", res)
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d charges failed", failed.Load())
	}
	if allowed.Load() != int64(budget.Burst) {
		t.Fatalf("%d charges of one budget allowed at once, want its burst %d", allowed.Load(), budget.Burst)
	}
	if n := trips.n.Load(); n*2 > users+shared {
		t.Fatalf("%d charges made at once took %d round trips; they should share them", users+shared, n)
	}
	t.Logf("%d charges in %d round trips", users+shared, trips.n.Load())

	plain := redis_rate.NewLimiter(c.Universal())
	res, err := plain.Allow(ctx, prefix+"shared", redis_rate.Limit{Rate: budget.Rate, Burst: budget.Burst, Period: budget.Period})
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed != 0 {
		t.Fatalf("redis_rate charging one command at a time found the budget not spent: %+v", res)
	}
}

// TestChargesAfterScriptFlush: a Redis that lost its scripts (restarted,
// or SCRIPT FLUSH) refuses the pipelined EVALSHAs with NOSCRIPT; every
// charge still gets its answer, through EVAL.
func TestChargesAfterScriptFlush(t *testing.T) {
	c := open(t, testenv.RedisURL(t))
	ctx := context.Background()
	l := c.Limiter()
	if _, err := l.Allow(ctx, "warm", ratelimit.Per(1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.Universal().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	together(200, func(i int) {
		res, err := l.Allow(ctx, "user:"+strconv.Itoa(i), ratelimit.Per(5, time.Minute))
		if err != nil || !res.Allowed {
			failed.Add(1)
			t.Log(res, err)
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d of 200 charges failed after the scripts were flushed", failed.Load())
	}
}

// TestSilentRedisBoundsEveryWait: with Redis silent, the first charges'
// pipelines hold both runners until their reads time out. Charges made
// meanwhile queue behind them, and each must still give up after one
// timeout of its own, not after the pipelines before it and then its own.
func TestSilentRedisBoundsEveryWait(t *testing.T) {
	ru, _ := url.Parse(testenv.RedisURL(t))
	proxy := testenv.NewProxy(t, ru.Host)
	ru.Host = proxy.Addr()
	const timeout = 300 * time.Millisecond
	c, err := redis.Open(redis.Options{URL: ru.String(), Timeout: timeout,
		KeyPrefix: "test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	l := c.Limiter()
	// Connections ready, so that the waits below are reads, not dials.
	together(20, func(i int) {
		if _, err := l.Allow(ctx, "warm:"+strconv.Itoa(i), ratelimit.Per(5, time.Minute)); err != nil {
			t.Error(err)
		}
	})

	proxy.Pause()
	defer proxy.Resume()
	var slowest atomic.Int64
	var answered atomic.Int64
	charge := func(i int) {
		start := time.Now()
		_, err := l.Allow(ctx, "user:"+strconv.Itoa(i), ratelimit.Per(5, time.Minute))
		if err == nil {
			answered.Add(1)
		}
		for d := int64(time.Since(start)); ; {
			s := slowest.Load()
			if d <= s || slowest.CompareAndSwap(s, d) {
				break
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { together(20, charge) })
	time.Sleep(50 * time.Millisecond)
	together(20, func(i int) { charge(100 + i) })
	wg.Wait()
	if answered.Load() > 0 {
		t.Fatalf("%d charges answered by a silent Redis", answered.Load())
	}
	// One timeout and the scheduling of 40 goroutines; queued behind the
	// runners without a bound of its own, the second wave would wait
	// their timeout and then its own, over 550 ms.
	if d := time.Duration(slowest.Load()); d > timeout+150*time.Millisecond {
		t.Fatalf("a charge waited %v with Redis silent; the bound is one timeout (%v)", d, timeout)
	}
}
