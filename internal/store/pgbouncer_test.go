package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/migrations"
)

// bounced starts a cluster of the test's own with PgBouncer in transaction
// pooling in front of it, with poolSize server connections.
func bounced(t *testing.T, poolSize int) (*testenv.Cluster, *testenv.PgBouncer) {
	t.Helper()
	c := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	return c, testenv.StartPgBouncer(t, c.URL(), testenv.PgBouncerOptions{PoolSize: poolSize})
}

func openThrough(t *testing.T, b *testenv.PgBouncer) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{PostgresURL: b.URL(), PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func postgresMigrations(t *testing.T) int {
	t.Helper()
	ms, err := migrations.Postgres()
	if err != nil {
		t.Fatal(err)
	}
	return len(ms.Sorted())
}

// TestMigrationLockThroughPgBouncer: while one store holds the migration
// lock through PgBouncer in transaction pooling, another store's Migrate
// through the same PgBouncer waits for it instead of migrating alongside,
// and once the lock is released it migrates and no advisory lock is left
// behind on any server connection. A session-level lock fails each: the
// second store's lock statement lands on the server connection that holds
// the first's lock and takes it again, and an unlock that lands on another
// server connection leaves the lock held.
func TestMigrationLockThroughPgBouncer(t *testing.T) {
	t.Parallel()
	c, b := bounced(t, 2)
	holder, waiter := openThrough(t, b), openThrough(t, b)
	ctx := context.Background()

	release, err := holder.MigrationLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	applied, err := waiter.Migrate(short)
	if !errors.Is(err, context.DeadlineExceeded) {
		release()
		t.Fatalf("Migrate while another store holds the lock = %v, %v; want it to wait until its deadline", applied, err)
	}
	if n := c.QueryString("SELECT count(*) FROM pg_tables WHERE tablename = 'bun_migrations'"); n != "0" {
		t.Errorf("the waiting store created the migrations table (%s) while the lock was held", n)
	}
	release()

	applied, err = waiter.Migrate(ctx)
	if err != nil || len(applied) != postgresMigrations(t) {
		t.Fatalf("Migrate after the release = %v, %v; want every migration applied", applied, err)
	}
	if n := c.QueryString("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"); n != "0" {
		t.Errorf("%s advisory locks held after every migration finished, want none", n)
	}
}

// TestConcurrentMigrationsThroughPgBouncer: stores that migrate one fresh
// database at once through PgBouncer in transaction pooling, more of them
// than PgBouncer has server connections, all succeed, and each migration
// is applied once.
func TestConcurrentMigrationsThroughPgBouncer(t *testing.T) {
	t.Parallel()
	c, b := bounced(t, 3)
	const stores = 6
	ss := make([]*store.Store, stores)
	for i := range ss {
		ss[i] = openThrough(t, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied int
		errs    []error
	)
	for _, s := range ss {
		wg.Go(func() {
			names, err := s.Migrate(ctx)
			mu.Lock()
			defer mu.Unlock()
			applied += len(names)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent migrate: %v", err)
	}
	want := postgresMigrations(t)
	if applied != want {
		t.Errorf("the stores applied %d migrations between them, want each of the %d once", applied, want)
	}
	if n := c.QueryString("SELECT count(*) FROM bun_migrations"); n != strconv.Itoa(want) {
		t.Errorf("bun_migrations has %s rows, want %d", n, want)
	}
}

// TestLogLockWaitersHoldNoServerConnection: through PgBouncer with two
// server connections, while one store holds the log lock another waits
// for it, and the holder's work, which runs on the pool, still gets a
// server connection. A waiter blocked in pg_advisory_xact_lock would hold
// the second one until the holder gave up.
func TestLogLockWaitersHoldNoServerConnection(t *testing.T) {
	t.Parallel()
	_, b := bounced(t, 2)
	holder, waiter := openThrough(t, b), openThrough(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	held, waited := make(chan struct{}), make(chan error, 1)
	var order []string
	var mu sync.Mutex
	step := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	err := holder.WithLogLock(ctx, func(ctx context.Context) error {
		close(held)
		go func() {
			waited <- waiter.WithLogLock(ctx, func(context.Context) error {
				step("waiter")
				return nil
			})
		}()
		// Long enough for the waiter to be waiting.
		time.Sleep(500 * time.Millisecond)
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var one int
		if err := holder.DB().QueryRowContext(qctx, "SELECT 1").Scan(&one); err != nil {
			return err
		}
		step("holder")
		return nil
	})
	<-held
	if err != nil {
		t.Fatalf("the holder's query while another store waited for the lock: %v", err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if !slices.Equal(order, []string{"holder", "waiter"}) {
		t.Errorf("ran in the order %v, want the holder's work before the waiter's", order)
	}
}
