package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/ratelimit"
)

// counted counts the requests that reach the shared limiter and the
// requests they take.
type counted struct {
	ratelimit.Limiter
	calls, taken atomic.Int64
}

func (c *counted) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return c.AllowN(ctx, key, l, 1)
}

func (c *counted) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Result, error) {
	c.calls.Add(1)
	res, err := c.Limiter.AllowN(ctx, key, l, n)
	if res.Allowed {
		c.taken.Add(int64(n))
	}
	return res, err
}

// ticking is a clock that moves on by step each time it is read.
type ticking struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *ticking) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *ticking) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// leasedPod is a pod leasing from a counted in-process limiter, both on
// a clock that moves on by step at each reading.
func leasedPod(step time.Duration) (*ticking, *counted, *ratelimit.Leased) {
	clock := &ticking{t: time.Unix(1_000_000, 0), step: step}
	shared := &counted{Limiter: ratelimit.NewMemory(clock.now)}
	return clock, shared, ratelimit.NewLeased(shared, ratelimit.LeaseOptions{Now: clock.now})
}

// TestLeasedTwoPodsNeverExceedTheBudget: two pods charging one budget
// through one shared limiter, each leasing, hand out no more than the
// budget, lose little of it, and ask the shared limiter a fraction as
// often as they answer.
func TestLeasedTwoPodsNeverExceedTheBudget(t *testing.T) {
	clock := &ticking{t: time.Unix(1_000_000, 0), step: 100 * time.Microsecond}
	shared := &counted{Limiter: ratelimit.NewMemory(clock.now)}
	pods := []*ratelimit.Leased{
		ratelimit.NewLeased(shared, ratelimit.LeaseOptions{Now: clock.now}),
		ratelimit.NewLeased(shared, ratelimit.LeaseOptions{Now: clock.now}),
	}
	l := ratelimit.Per(5000, 24*time.Hour) // nothing refills during the test
	ctx := context.Background()
	allowed, lastRemaining := 0, l.Burst
	for i := range 3 * l.Burst {
		res, err := pods[i%2].Allow(ctx, "caller:bot", l)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed {
			allowed++
			if res.Remaining < 0 || res.Remaining > l.Burst {
				t.Fatalf("request %d: remaining %d", i, res.Remaining)
			}
			lastRemaining = res.Remaining
		} else if res.RetryAfter <= 0 {
			t.Fatalf("request %d refused with RetryAfter %v", i, res.RetryAfter)
		}
	}
	if allowed > l.Burst || int64(allowed) > shared.taken.Load() {
		t.Fatalf("handed out %d of a budget of %d (%d taken from the shared limiter)", allowed, l.Burst, shared.taken.Load())
	}
	if lost := l.Burst - allowed; lost > l.Burst/50 {
		t.Fatalf("handed out %d of a budget of %d: %d lapsed, want at most 2 %%", allowed, l.Burst, lost)
	}
	// A refused request is always asked alone, exactly.
	refused := int64(3*l.Burst - allowed)
	if calls := shared.calls.Load() - refused; calls > int64(allowed)/5 {
		t.Fatalf("%d calls to the shared limiter for %d requests allowed; want far fewer", calls, allowed)
	}
	if lastRemaining != 0 {
		t.Fatalf("last allowed request saw remaining %d, want 0", lastRemaining)
	}
	t.Logf("%d requests: %d allowed of %d, %d calls to the shared limiter", 3*l.Burst, allowed, l.Burst, shared.calls.Load())
}

// TestLeasedNearTheEndIsExact: one pod spends a small budget to the last
// request: leases shrink to nothing as the budget ends, so every request
// of it is handed out, and Remaining counts down one by one.
func TestLeasedNearTheEndIsExact(t *testing.T) {
	_, shared, pod := leasedPod(500 * time.Microsecond)
	l := ratelimit.Per(300, 24*time.Hour)
	ctx := context.Background()
	allowed := 0
	for i := range 400 {
		res, err := pod.Allow(ctx, "caller:bot", l)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed {
			continue
		}
		allowed++
		if want := l.Burst - allowed; res.Remaining != want {
			t.Fatalf("request %d: remaining %d, want %d", i, res.Remaining, want)
		}
	}
	if allowed != l.Burst {
		t.Fatalf("handed out %d of a budget of %d", allowed, l.Burst)
	}
	if shared.calls.Load() >= 400 {
		t.Fatalf("every request went to the shared limiter (%d calls)", shared.calls.Load())
	}
}

// TestLeasedSparseKeyIsChargedOneByOne: a key with at most one request a
// window (a user's own budget, a quiet caller) is never leased: each
// request is one request taken from the shared limiter.
func TestLeasedSparseKeyIsChargedOneByOne(t *testing.T) {
	_, shared, pod := leasedPod(25 * time.Millisecond)
	l := ratelimit.Per(10, 24*time.Hour)
	ctx := context.Background()
	for i := range 12 {
		res, err := pod.Allow(ctx, "user:register:7", l)
		if err != nil {
			t.Fatal(err)
		}
		if want := i < 10; res.Allowed != want {
			t.Fatalf("request %d: allowed %v, want %v", i, res.Allowed, want)
		}
	}
	if calls, taken := shared.calls.Load(), shared.taken.Load(); calls != 12 || taken != 10 {
		t.Fatalf("%d calls taking %d; want 12 calls taking 10", calls, taken)
	}
}

// TestLeasedLeaseLapses: requests a lease took and did not hand out
// within the window are not handed out later.
func TestLeasedLeaseLapses(t *testing.T) {
	clock, shared, pod := leasedPod(time.Millisecond)
	l := ratelimit.Per(10_000, 24*time.Hour)
	ctx := context.Background()
	for range 25 { // a window of one-by-one charges, then a lease
		if res, _ := pod.Allow(ctx, "caller:bot", l); !res.Allowed {
			t.Fatal("refused")
		}
	}
	before := shared.taken.Load()
	if before <= 25 {
		t.Fatalf("took %d for 25 requests; want a lease taken", before)
	}
	clock.advance(time.Second)
	calls := shared.calls.Load()
	if res, _ := pod.Allow(ctx, "caller:bot", l); !res.Allowed {
		t.Fatal("refused")
	}
	if shared.calls.Load() != calls+1 {
		t.Fatal("a request after the window was handed out from a lapsed lease")
	}
}

// TestLeasedConcurrentRequests: many goroutines on one pod hand out no
// more than the budget, every request gets an answer, and those that
// find a lease being taken share it rather than each asking.
func TestLeasedConcurrentRequests(t *testing.T) {
	_, shared, pod := leasedPod(50 * time.Microsecond)
	l := ratelimit.Per(4000, 24*time.Hour)
	ctx := context.Background()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				res, err := pod.Allow(ctx, "caller:bot", l)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n > int64(l.Burst) || n > shared.taken.Load() {
		t.Fatalf("handed out %d of a budget of %d (%d taken)", n, l.Burst, shared.taken.Load())
	}
	refused := 5000 - allowed.Load()
	if calls := shared.calls.Load() - refused; calls > allowed.Load()/2 {
		t.Fatalf("%d calls to the shared limiter for %d requests allowed; want leases shared", calls, allowed.Load())
	}
	t.Logf("5000 requests: %d allowed of %d, %d calls", allowed.Load(), l.Burst, shared.calls.Load())
}

// silent answers like its Limiter until hush is called; then its next
// call blocks until speak and fails, and the calls after fail at once.
type silent struct {
	ratelimit.Limiter
	mu      sync.Mutex
	hushed  bool
	blocked chan struct{} // closed by speak
	calls   atomic.Int64  // calls made while hushed
	first   sync.Once
}

func (s *silent) hush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hushed, s.blocked = true, make(chan struct{})
}

func (s *silent) speak() { close(s.blocked) }

func (s *silent) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return s.AllowN(ctx, key, l, 1)
}

func (s *silent) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Result, error) {
	s.mu.Lock()
	hushed, blocked := s.hushed, s.blocked
	s.mu.Unlock()
	if !hushed {
		return s.Limiter.AllowN(ctx, key, l, n)
	}
	s.calls.Add(1)
	s.first.Do(func() { <-blocked })
	return ratelimit.Result{}, errors.New("i/o timeout")
}

// TestLeasedSilentLimiterCostsOneWait: while a lease is being taken from a
// shared limiter that has gone silent, the requests that queue behind it
// get its failure when it fails, instead of each taking its turn to wait
// out the silence; then each request asks alone.
func TestLeasedSilentLimiterCostsOneWait(t *testing.T) {
	clock := &ticking{t: time.Unix(1_000_000, 0), step: time.Millisecond}
	shared := &silent{Limiter: ratelimit.NewMemory(clock.now)}
	pod := ratelimit.NewLeased(shared, ratelimit.LeaseOptions{Now: clock.now})
	l := ratelimit.Per(100_000, time.Hour)
	ctx := context.Background()
	// Warm up until the key is leased: the lease's requests are handed
	// out without asking.
	for range 200 {
		if res, err := pod.Allow(ctx, "caller:bot", l); err != nil || !res.Allowed {
			t.Fatalf("warm-up: %+v, %v", res, err)
		}
	}
	shared.hush()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 20 {
		wg.Go(func() {
			for {
				// Spend the lease in hand until a request has to ask.
				res, err := pod.Allow(ctx, "caller:bot", l)
				if err != nil {
					failed.Add(1)
					return
				}
				if !res.Allowed {
					t.Error("refused")
					return
				}
			}
		})
	}
	// Let every goroutine spend what is left and queue behind the take.
	time.Sleep(200 * time.Millisecond)
	shared.speak()
	wg.Wait()
	if failed.Load() != 20 {
		t.Fatalf("%d of 20 requests failed", failed.Load())
	}
	if calls := shared.calls.Load(); calls != 1 {
		t.Fatalf("%d calls to the silent limiter; want the one take, shared by those waiting", calls)
	}
	// After the failure, each request asks alone (and fails at once here).
	if _, err := pod.Allow(ctx, "caller:bot", l); err == nil {
		t.Fatal("a request after the failure was handed out from a lease")
	}
	if calls := shared.calls.Load(); calls != 2 {
		t.Fatalf("%d calls after the failure; want the request asked alone", calls)
	}
}

// TestLeasedBehindFailOpenStillLeases: the app wraps the lease in a
// FailOpen, and the API charges through Allow or AllowN(…, 1); either way
// a busy key must be leased, not charged one request at a time.
func TestLeasedBehindFailOpenStillLeases(t *testing.T) {
	for name, charge := range map[string]func(ratelimit.Limiter, context.Context, string, ratelimit.Limit) (ratelimit.Result, error){
		"Allow": func(f ratelimit.Limiter, ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
			return f.Allow(ctx, key, l)
		},
		"AllowN(1)": func(f ratelimit.Limiter, ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
			return f.AllowN(ctx, key, l, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, shared, pod := leasedPod(100 * time.Microsecond)
			f := &ratelimit.FailOpen{Limiter: pod}
			l := ratelimit.Per(1_000_000, time.Hour)
			const requests = 2000
			for i := range requests {
				res, err := charge(f, context.Background(), "caller:bot", l)
				if err != nil || !res.Allowed {
					t.Fatalf("request %d: %+v, %v", i, res, err)
				}
			}
			if calls := shared.calls.Load(); calls > requests/10 {
				t.Fatalf("%d calls to the shared limiter for %d requests through FailOpen; the lease is bypassed", calls, requests)
			}
			t.Logf("%d requests, %d calls to the shared limiter", requests, shared.calls.Load())
		})
	}
}
