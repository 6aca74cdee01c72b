// Package cache keeps short-lived copies of upstream answers. Redis shares
// them between replicas; without Redis an in-process cache holds them.
package cache

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Cache stores opaque values with a lifetime.
type Cache interface {
	// Get returns the value and whether it was found.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}

// Multi is a Cache that reads several keys in one round trip.
type Multi interface {
	// GetMany returns the keys' values in order, nil for a key not found.
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
}

// GetMany reads keys from c in one round trip when c is a Multi, else
// one Get after another. Values are in the order of keys, nil for a key
// not found; on an error none are returned.
func GetMany(ctx context.Context, c Cache, keys []string) ([][]byte, error) {
	if m, ok := c.(Multi); ok {
		return m.GetMany(ctx, keys)
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, ok, err := c.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = v
		}
	}
	return out, nil
}

// Memory is a bounded in-process cache with per-entry lifetimes; the least
// recently used entry goes first when it is full.
type Memory struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
	now   func() time.Time
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns a cache holding at most max entries.
func NewMemory(max int, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{max: max, ll: list.New(), items: map[string]*list.Element{}, now: now}
}

// Get implements Cache.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.ll.MoveToFront(el)
	return e.value, true, nil
}

// GetMany implements Multi.
func (m *Memory) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i], _, _ = m.Get(ctx, k)
	}
	return out, nil
}

// Set implements Cache.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(key, value, ttl)
	return nil
}

// Add stores the value only when the key is absent (or expired) and
// reports whether it did.
func (m *Memory) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok && m.now().Before(el.Value.(*entry).expires) {
		return false, nil
	}
	m.set(key, value, ttl)
	return true, nil
}

func (m *Memory) set(key string, value []byte, ttl time.Duration) {
	exp := m.now().Add(ttl)
	if el, ok := m.items[key]; ok {
		e := el.Value.(*entry)
		e.value, e.expires = value, exp
		m.ll.MoveToFront(el)
		return
	}
	m.items[key] = m.ll.PushFront(&entry{key: key, value: value, expires: exp})
	for m.ll.Len() > m.max {
		m.remove(m.ll.Back())
	}
}

// Delete implements Cache.
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if el, ok := m.items[k]; ok {
			m.remove(el)
		}
	}
	return nil
}

func (m *Memory) remove(el *list.Element) {
	m.ll.Remove(el)
	delete(m.items, el.Value.(*entry).key)
}

// Bypass wraps a shared cache so that its failures read as misses and
// skipped writes: a Redis outage costs upstream calls, not requests.
type Bypass struct {
	Cache    Cache
	failures atomic.Int64
	// OnFailure, when set, is called with each failure (for metrics).
	OnFailure func(error)
}

func (b *Bypass) failed(err error) {
	b.failures.Add(1)
	if b.OnFailure != nil {
		b.OnFailure(err)
	}
}

// Failures is how many times the wrapped cache failed.
func (b *Bypass) Failures() int64 { return b.failures.Load() }

// Get implements Cache.
func (b *Bypass) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := b.Cache.Get(ctx, key)
	if err != nil {
		b.failed(err)
		return nil, false, nil
	}
	return v, ok, nil
}

// GetMany implements Multi: a failure reads as every key missing.
func (b *Bypass) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out, err := GetMany(ctx, b.Cache, keys)
	if err != nil {
		b.failed(err)
		return make([][]byte, len(keys)), nil
	}
	return out, nil
}

// Set implements Cache.
func (b *Bypass) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := b.Cache.Set(ctx, key, value, ttl); err != nil {
		b.failed(err)
	}
	return nil
}

// Delete implements Cache.
func (b *Bypass) Delete(ctx context.Context, keys ...string) error {
	if err := b.Cache.Delete(ctx, keys...); err != nil {
		b.failed(err)
	}
	return nil
}
