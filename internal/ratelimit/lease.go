package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Lease defaults.
const (
	// DefaultLeaseWindow is how long a lease may be spent, and the span
	// over which a key's arrivals size the next one.
	DefaultLeaseWindow = 20 * time.Millisecond
	// DefaultMaxLease is the most requests one lease takes.
	DefaultMaxLease = 64
)

// Leased takes a busy key's requests from a shared limiter several at a
// time, so that a pod charging one hot budget (the bot's, which every
// user's press goes through) asks the shared limiter a few dozen times a
// second instead of once per request, and one Redis key stops taking
// every pod's traffic.
//
// A lease is sized by the key's arrivals on this pod in the last window,
// at most MaxLease and at most a tenth of what the budget had left when
// last asked, so that a budget near its end is charged one request at a
// time again and refuses exactly. A key that had no more than one arrival
// in the last window is never leased. Requests taken and not handed out
// within the window lapse: they were charged and are lost to the caller,
// at most one lease per pod and key each time its traffic falls. The
// shared budget is never exceeded: every request handed out was taken
// from it first, at most one window early.
//
// The Result of a leased request is the lease's, with Remaining raised by
// what the lease still holds: what the budget would have said had the
// requests been taken one by one when the lease was. When taking a lease
// fails, the requests waiting for it get the error (a FailOpen around the
// Leased lets them through), and the key is charged one request at a time
// until the shared limiter answers again.
type Leased struct {
	limiter Limiter
	window  time.Duration
	max     int
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*lease
	sweep time.Time
}

// LeaseOptions configures NewLeased; zero values take the defaults.
type LeaseOptions struct {
	Window   time.Duration
	MaxLease int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// lease is one key's state on this pod.
type lease struct {
	left  int       // requests taken and not yet handed out
	until time.Time // when they lapse
	res   Result    // the answer that took them

	// remaining is what the budget had left when last asked; -1 before
	// the first answer.
	remaining int
	// from is the start of the current window; arrivals counts its
	// requests, last the previous window's.
	from           time.Time
	arrivals, last int
	// taking is the lease being taken, nil when none is.
	taking *take
}

// take is a lease on its way: done is closed when it is in, err says
// whether it failed.
type take struct {
	done chan struct{}
	err  error
}

// NewLeased wraps limiter.
func NewLeased(limiter Limiter, o LeaseOptions) *Leased {
	if o.Window <= 0 {
		o.Window = DefaultLeaseWindow
	}
	if o.MaxLease <= 0 {
		o.MaxLease = DefaultMaxLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Leased{limiter: limiter, window: o.Window, max: o.MaxLease, now: o.Now, keys: map[string]*lease{}}
}

// Allow hands out a request from key's lease, or takes a new lease, or
// asks the shared limiter for this request alone.
func (m *Leased) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	now := m.now()
	m.mu.Lock()
	e := m.entry(key, now)
	e.arrive(now, m.window)
	for {
		if e.left > 0 && now.Before(e.until) {
			e.left--
			res := e.res
			res.Remaining += e.left
			m.mu.Unlock()
			return res, nil
		}
		if e.taking == nil {
			break
		}
		// Another request is taking a lease: wait for it and share it,
		// or its failure, so that a silent shared limiter costs every
		// request one wait at most, not one per request queued.
		t := e.taking
		m.mu.Unlock()
		<-t.done
		if t.err != nil {
			return Result{Limit: l}, t.err
		}
		now = m.now()
		m.mu.Lock()
	}
	n := min(m.max, e.last, e.remaining/10)
	if n <= 1 {
		m.mu.Unlock()
		res, err := m.limiter.Allow(ctx, key, l)
		if err == nil {
			m.mu.Lock()
			e.remaining = res.Remaining
			m.mu.Unlock()
		}
		return res, err
	}
	t := &take{done: make(chan struct{})}
	e.taking = t
	e.left = 0
	m.mu.Unlock()

	// The lease serves other requests too: this one's caller going away
	// must not cancel it.
	lctx := context.WithoutCancel(ctx)
	res, err := m.limiter.AllowN(lctx, key, l, n)
	if err == nil && !res.Allowed {
		// Fewer than n left: this request alone, answered exactly.
		n = 1
		res, err = m.limiter.Allow(lctx, key, l)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	e.taking, t.err = nil, err
	close(t.done)
	if err != nil {
		// Until the shared limiter answers again, each request asks it
		// alone.
		e.remaining = -1
		return res, err
	}
	e.remaining = res.Remaining
	if res.Allowed && n > 1 {
		e.left, e.until, e.res = n-1, m.now().Add(m.window), res
		res.Remaining += e.left
	}
	return res, nil
}

// AllowN asks the shared limiter directly when n is more than one: a
// caller taking several requests at once is already batching. One
// request is Allow's, leased like any other.
func (m *Leased) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if n == 1 {
		return m.Allow(ctx, key, l)
	}
	return m.limiter.AllowN(ctx, key, l, n)
}

// entry returns key's state, made on first use. Once a second, the state
// of keys idle for a second is dropped, so memory follows the keys
// recently active on this pod. The caller holds m.mu.
func (m *Leased) entry(key string, now time.Time) *lease {
	if now.Sub(m.sweep) >= time.Second {
		m.sweep = now
		for k, e := range m.keys {
			if e.taking == nil && now.Sub(e.from) >= time.Second {
				delete(m.keys, k)
			}
		}
	}
	e, ok := m.keys[key]
	if !ok {
		e = &lease{remaining: -1, from: now}
		m.keys[key] = e
	}
	return e
}

// arrive counts a request in the key's current window, rolling the
// window first when it has passed.
func (e *lease) arrive(now time.Time, window time.Duration) {
	switch since := now.Sub(e.from); {
	case since >= 2*window:
		e.from, e.last, e.arrivals = now, 0, 0
	case since >= window:
		e.from, e.last, e.arrivals = e.from.Add(window), e.arrivals, 0
	}
	e.arrivals++
}
