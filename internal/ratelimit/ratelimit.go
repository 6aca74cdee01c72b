// Package ratelimit decides whether a request fits its caller's budget. The
// algorithm is GCRA, the one github.com/go-redis/redis_rate runs in Redis,
// so the in-process limiter used without Redis behaves like the shared one.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Limit is a budget: Rate requests per Period, of which Burst may come at
// once.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// Per returns the limit of n requests per period with a burst of n, as
// "1000 per hour" reads.
func Per(n int, period time.Duration) Limit {
	return Limit{Rate: n, Burst: n, Period: period}
}

// Result is a limiter's answer.
type Result struct {
	Limit     Limit
	Allowed   bool
	Remaining int
	// RetryAfter is how long to wait before a refused request can succeed.
	RetryAfter time.Duration
	// ResetAfter is how long until the budget is full again.
	ResetAfter time.Duration
}

// Limiter counts requests per key.
type Limiter interface {
	// Allow takes one request from key's budget.
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
	// AllowN takes n requests at once, or none when fewer are left.
	AllowN(ctx context.Context, key string, limit Limit, n int) (Result, error)
}

// Memory is the in-process limiter, for a single replica or when no Redis
// is configured.
type Memory struct {
	mu    sync.Mutex
	tat   map[string]time.Time // theoretical arrival time per key
	now   func() time.Time
	sweep time.Time
}

// NewMemory returns an in-process limiter.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{tat: map[string]time.Time{}, now: now}
}

// Allow applies GCRA: each request moves the key's theoretical arrival time
// one emission interval (Period/Rate) ahead, and a request is refused when
// that time would run more than Burst intervals ahead of now.
func (m *Memory) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return m.AllowN(ctx, key, l, 1)
}

// AllowN applies GCRA to n requests at once: n emission intervals.
func (m *Memory) AllowN(_ context.Context, key string, l Limit, n int) (Result, error) {
	now := m.now()
	emission := l.Period / time.Duration(l.Rate)
	tolerance := emission * time.Duration(l.Burst)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.evict(now)
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(emission * time.Duration(n))
	allowAt := next.Add(-tolerance)
	if now.Before(allowAt) {
		return Result{Limit: l, RetryAfter: allowAt.Sub(now), ResetAfter: tat.Sub(now)}, nil
	}
	m.tat[key] = next
	remaining := int(math.Floor(float64(tolerance-next.Sub(now)) / float64(emission)))
	return Result{Limit: l, Allowed: true, Remaining: remaining, ResetAfter: next.Sub(now)}, nil
}

// evict drops keys whose budget is full again, at most once a minute, so
// memory follows the number of recently active callers.
func (m *Memory) evict(now time.Time) {
	if now.Sub(m.sweep) < time.Minute {
		return
	}
	m.sweep = now
	for k, tat := range m.tat {
		if tat.Before(now) {
			delete(m.tat, k)
		}
	}
}

// FailOpen wraps a shared limiter so that its failures let requests through
// instead of refusing them: a Redis outage must not take the API down. Each
// such failure is counted.
type FailOpen struct {
	Limiter  Limiter
	failures atomic.Int64
	// OnFailure, when set, is called with each failure (for metrics).
	OnFailure func(error)
}

// Allow asks the wrapped limiter and allows the request when it fails.
// It calls the wrapped limiter's Allow, not AllowN: a Leased underneath
// leases only what is asked for one request at a time.
func (f *FailOpen) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := f.Limiter.Allow(ctx, key, l)
	return f.answer(res, err, l)
}

// AllowN asks the wrapped limiter and allows the requests when it fails.
func (f *FailOpen) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	res, err := f.Limiter.AllowN(ctx, key, l, n)
	return f.answer(res, err, l)
}

// answer turns a failure of the wrapped limiter into a pass, counted.
func (f *FailOpen) answer(res Result, err error, l Limit) (Result, error) {
	if err != nil {
		f.failures.Add(1)
		if f.OnFailure != nil {
			f.OnFailure(err)
		}
		return Result{Limit: l, Allowed: true, Remaining: l.Burst}, nil
	}
	return res, nil
}

// Failures is how many times the wrapped limiter failed.
func (f *FailOpen) Failures() int64 { return f.failures.Load() }
