// Package redis backs the rate limiter and the cache with Redis, through
// go-redis's universal client: one node, a Sentinel group or a Cluster, all
// configured the same way.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/ratelimit"
)

// Options select the deployment.
type Options struct {
	// URL is a redis:// or rediss:// URL: credentials, database, TLS and
	// the first address.
	URL string
	// Addrs are further addresses: cluster seed nodes, or Sentinels.
	Addrs []string
	// MasterName selects Sentinel mode.
	MasterName string
	// Cluster forces Cluster mode with a single seed address.
	Cluster bool
	// PoolSize is the connection pool per node; 0 keeps go-redis's default.
	PoolSize int
	// Timeout bounds dialing, reads and writes, so that a dead Redis costs
	// a request little time.
	Timeout time.Duration
	// KeyPrefix namespaces every key, so several services can share one
	// Redis.
	KeyPrefix string
	// TracerProvider traces every command; nil disables it.
	TracerProvider trace.TracerProvider
	// Logger receives go-redis's own messages (failed dials and the like),
	// which it would otherwise print to stderr unstructured.
	Logger *slog.Logger
}

// redisLogger routes go-redis's log lines into the service's structured
// log at debug level: the service already logs Redis outages once a
// minute, and a dead Redis makes go-redis print on every dial.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

// Client is a connected Redis.
type Client struct {
	rdb    goredis.UniversalClient
	prefix string
}

// Open builds the client; it does not fail when Redis is down, since the
// service runs degraded until Redis returns.
func Open(o Options) (*Client, error) {
	single, err := goredis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 500 * time.Millisecond
	}
	uo := &goredis.UniversalOptions{
		Addrs:         append([]string{single.Addr}, o.Addrs...),
		Username:      single.Username,
		Password:      single.Password,
		DB:            single.DB,
		TLSConfig:     single.TLSConfig,
		MasterName:    o.MasterName,
		IsClusterMode: o.Cluster,
		PoolSize:      o.PoolSize,
		DialTimeout:   timeout,
		ReadTimeout:   timeout,
		WriteTimeout:  timeout,
		// One retry and one dial: a replica that lost its connection
		// reconnects at once, and a dead Redis costs a request one refused
		// dial, not five.
		MaxRetries:    1,
		DialerRetries: 1,
	}
	prefix := o.KeyPrefix
	if prefix == "" {
		prefix = "participant-service:"
	}
	if o.Logger != nil {
		// go-redis has one logger for the whole process.
		goredis.SetLogger(redisLogger{o.Logger})
	}
	rdb := goredis.NewUniversalClient(uo)
	if o.TracerProvider != nil {
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(o.TracerProvider)); err != nil {
			return nil, fmt.Errorf("redis: tracing: %w", err)
		}
	}
	return &Client{rdb: rdb, prefix: prefix}, nil
}

// Universal returns the go-redis client, for instrumentation.
func (c *Client) Universal() goredis.UniversalClient { return c.rdb }

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error { return c.rdb.Ping(ctx).Err() }

// PoolStats reports the connection pool.
func (c *Client) PoolStats() *goredis.PoolStats { return c.rdb.PoolStats() }

// Limiter returns a rate limiter whose budgets every replica shares.
func (c *Client) Limiter() ratelimit.Limiter {
	return limiter{l: redis_rate.NewLimiter(c.rdb), prefix: c.prefix}
}

type limiter struct {
	l      *redis_rate.Limiter
	prefix string
}

func (l limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Result, error) {
	return l.AllowN(ctx, key, lim, 1)
}

func (l limiter) AllowN(ctx context.Context, key string, lim ratelimit.Limit, n int) (ratelimit.Result, error) {
	res, err := l.l.AllowN(ctx, l.prefix+key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period}, n)
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redis: rate limit: %w", err)
	}
	return ratelimit.Result{
		Limit:      lim,
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}, nil
}

// Cache returns a cache every replica shares.
func (c *Client) Cache() cache.Cache { return redisCache{c} }

type redisCache struct{ c *Client }

func (r redisCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.c.rdb.Get(ctx, r.c.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: get: %w", err)
	}
	return v, true, nil
}

// GetMany reads the keys in one pipeline: one round trip to a single
// node or a Sentinel's master, one per node in a Cluster, where the keys
// may live on different slots and MGET would be refused.
func (r redisCache) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	cmds := make([]*goredis.StringCmd, len(keys))
	_, err := r.c.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, r.c.prefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: get: %w", err)
	}
	out := make([][]byte, len(keys))
	for i, c := range cmds {
		v, err := c.Bytes()
		switch {
		case errors.Is(err, goredis.Nil):
		case err != nil:
			return nil, fmt.Errorf("redis: get: %w", err)
		default:
			out[i] = v
		}
	}
	return out, nil
}

func (r redisCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.c.rdb.Set(ctx, r.c.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis: set: %w", err)
	}
	return nil
}

func (r redisCache) Delete(ctx context.Context, keys ...string) error {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.c.prefix + k
	}
	// One key per command: in a Cluster the keys may live on different
	// slots.
	var errs []error
	for _, k := range full {
		if err := r.c.rdb.Del(ctx, k).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis: delete: %w", err)
	}
	return nil
}
