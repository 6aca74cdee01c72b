// Package testenv finds the real Postgres and Redis servers that
// integration tests run against, and gives each test its own schema or
// database so tests can run in parallel.
//
// Servers are taken from TEST_DATABASE_URL and TEST_REDIS_URL, else from
// the local defaults (127.0.0.1:5432 with user postgres and database test,
// 127.0.0.1:6379), else started with dockertest when a Docker engine
// answers. Outside CI a test skips with the reason when no server is found;
// with CI=true that is a failure.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/telegive/participant-service/internal/store"
	"github.com/uptrace/bun/driver/pgdriver"
)

const (
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultRedis    = "redis://127.0.0.1:6379/0"
)

// InCI reports whether the tests run in CI, where a missing server fails.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// unavailable skips the test, or fails it in CI.
func unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s is required in CI (CI=true) but unavailable: %v", what, err)
	}
	tb.Skipf("skipping: %s unavailable (%v); set %s or start one locally", what, err, map[string]string{
		"Postgres": "TEST_DATABASE_URL", "Redis": "TEST_REDIS_URL",
	}[what])
}

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  error
)

// PostgresURL returns the URL of a reachable Postgres server.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	pgOnce.Do(func() { pgURL, pgErr = findPostgres() })
	if pgErr != nil {
		unavailable(tb, "Postgres", pgErr)
	}
	return pgURL
}

func findPostgres() (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, pingPostgres(u)
	}
	if err := pingPostgres(defaultPostgres); err == nil {
		return defaultPostgres, nil
	}
	return dockerPostgres()
}

func pingPostgres(u string) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(u), pgdriver.WithDialTimeout(2*time.Second)))
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// PostgresSchema gives the test a fresh schema on the test server and
// returns a URL whose connections use it (through the search_path
// startup parameter), dropping it when the test ends. With
// TEST_DATABASE_ISOLATION=database it gives the test a fresh database
// instead, for servers reached through a pooler such as PgBouncer, which
// does not pass search_path on; the database is dropped, with whatever
// connections the pooler still holds to it, when the test ends.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %q: %v", base, err)
	}
	name := "t_" + randomHex(8)
	create, drop := "CREATE SCHEMA "+name, "DROP SCHEMA "+name+" CASCADE"
	switch mode := os.Getenv("TEST_DATABASE_ISOLATION"); mode {
	case "", "schema":
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
	case "database":
		create, drop = "CREATE DATABASE "+name, "DROP DATABASE "+name+" WITH (FORCE)"
		u.Path = "/" + name
	default:
		tb.Fatalf("TEST_DATABASE_ISOLATION=%q: use schema (the default) or database", mode)
	}
	exec := func(query string) error {
		db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(base)))
		defer db.Close()
		_, err := db.ExecContext(context.Background(), query)
		return err
	}
	if err := exec(create); err != nil {
		tb.Fatalf("%s: %v", create, err)
	}
	tb.Cleanup(func() {
		if err := exec(drop); err != nil {
			tb.Logf("%s: %v", drop, err)
		}
	})
	return u.String()
}

// SQLitePath returns a database file path in a fresh temporary directory.
func SQLitePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "participant.db")
}

var (
	redisOnce sync.Once
	redisURL  string
	redisErr  error
)

// RedisURL returns the URL of a reachable Redis server.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	redisOnce.Do(func() { redisURL, redisErr = findRedis() })
	if redisErr != nil {
		unavailable(tb, "Redis", redisErr)
	}
	return redisURL
}

func findRedis() (string, error) {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u, dial(u)
	}
	if err := dial(defaultRedis); err == nil {
		return defaultRedis, nil
	}
	return dockerRedis()
}

func dial(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// dockerPool returns a dockertest pool when a Docker engine answers.
func dockerPool() (*dockertest.Pool, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("no local server and no Docker engine: %w", err)
	}
	if err := pool.Client.Ping(); err != nil {
		return nil, fmt.Errorf("no local server and no Docker engine: %w", err)
	}
	pool.MaxWait = 60 * time.Second
	return pool, nil
}

func dockerPostgres() (string, error) {
	pool, err := dockerPool()
	if err != nil {
		return "", err
	}
	res, err := pool.Run("postgres", "16-alpine", []string{"POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_DB=test"})
	if err != nil {
		return "", fmt.Errorf("start Postgres container: %w", err)
	}
	_ = res.Expire(900) // the container removes itself if the tests die
	u := fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable", res.GetHostPort("5432/tcp"))
	if err := pool.Retry(func() error { return pingPostgres(u) }); err != nil {
		return "", fmt.Errorf("the Postgres container did not come up: %w", err)
	}
	return u, nil
}

func dockerRedis() (string, error) {
	pool, err := dockerPool()
	if err != nil {
		return "", err
	}
	res, err := pool.Run("redis", "7-alpine", nil)
	if err != nil {
		return "", fmt.Errorf("start Redis container: %w", err)
	}
	_ = res.Expire(900)
	u := "redis://" + res.GetHostPort("6379/tcp") + "/0"
	if err := pool.Retry(func() error { return dial(u) }); err != nil {
		return "", fmt.Errorf("the Redis container did not come up: %w", err)
	}
	return u, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Backends are the storage backends every storage-dependent test runs on.
var Backends = []string{"sqlite", "postgres"}

// OpenStore returns a freshly migrated store on the backend ("sqlite" or
// "postgres"), closed when the test ends.
func OpenStore(tb testing.TB, backend string) *store.Store {
	tb.Helper()
	opts := store.Options{SQLitePath: SQLitePath(tb), PoolSize: 10, ReadTimeout: 30 * time.Minute}
	if backend == "postgres" {
		opts.PostgresURL = PostgresSchema(tb)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		tb.Fatalf("open %s store: %v", backend, err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s store: %v", backend, err)
	}
	return s
}

// ReopenStore opens a second store on the same database as s, the way a
// second replica would.
func ReopenStore(tb testing.TB, s *store.Store) *store.Store {
	tb.Helper()
	o := s.Options()
	s2, err := store.Open(context.Background(), o)
	if err != nil {
		tb.Fatalf("reopen store: %v", err)
	}
	tb.Cleanup(func() { s2.Close() })
	return s2
}
