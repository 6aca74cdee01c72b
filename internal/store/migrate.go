package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/telegive/participant-service/migrations"
)

// migrationLockKey namespaces the migration lock, an advisory lock; the current schema is mixed
// in so that separate schemas (one per test) migrate independently.
const migrationLockKey = "telegive-participant-service:migrate:"

func (s *Store) migrations() (*migrate.Migrations, error) {
	if s.postgres {
		return migrations.Postgres()
	}
	return migrations.SQLite()
}

func (s *Store) migrator() (*migrate.Migrator, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	return migrate.NewMigrator(s.db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every pending migration and returns their names. On
// Postgres it holds the migration lock meanwhile, so replicas that start
// together migrate one at a time and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	m, err := s.migrator()
	if err != nil {
		return nil, err
	}
	if s.postgres {
		unlock, err := s.migrationLock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("store: init migrations: %w", err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var names []string
	for _, mg := range group.Migrations {
		names = append(names, mg.String())
	}
	return names, nil
}

// migrationLockPoll is how often a replica waiting for another's
// migrations tries the lock again.
const migrationLockPoll = 200 * time.Millisecond

// migrationLock takes the migration lock and returns its release. The lock
// is a transaction-level advisory lock (xactLock) held by a transaction
// left open on a connection of its own, outside the pool, while the
// migrations run on the pool's connections; committing it releases the
// lock. Through PgBouncer a migrating replica therefore holds two server
// connections at once, and replicas waiting for it none.
func (s *Store) migrationLock(ctx context.Context) (func(), error) {
	db := sql.OpenDB(s.connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	discard := func() {
		// Closing the connection ends the transaction, and the lock, on
		// the server.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		db.Close()
	}
	if err := xactLock(ctx, conn, migrationLockKey, migrationLockPoll); err != nil {
		discard()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return func() { releaseMigrationLock(ctx, conn, discard, db) }, nil
}

// releaseMigrationLock commits the lock's transaction, with a deadline of
// its own so that migrations that used up ctx's time still release it; a
// connection that cannot commit is closed, which releases it too.
func releaseMigrationLock(ctx context.Context, conn *sql.Conn, discard func(), db *sql.DB) {
	end, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(end, "COMMIT"); err != nil {
		discard()
		return
	}
	conn.Close()
	db.Close()
}

// SchemaStatus tells whether every migration this binary knows is applied.
type SchemaStatus struct {
	Current bool
	Pending []string
}

// Schema compares the applied migrations with those embedded in the binary.
// It reads only the small migrations table; before the first migration that
// table is missing and Schema returns an error.
func (s *Store) Schema(ctx context.Context) (SchemaStatus, error) {
	m, err := s.migrator()
	if err != nil {
		return SchemaStatus{}, err
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return SchemaStatus{}, fmt.Errorf("store: read migrations: %w", err)
	}
	st := SchemaStatus{Current: true}
	for _, mg := range ms.Unapplied() {
		st.Current = false
		st.Pending = append(st.Pending, mg.String())
	}
	return st, nil
}
