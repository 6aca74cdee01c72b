package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun/migrate"

	"github.com/telegive/participant-service/migrations"
)

// migrationLockKey namespaces the advisory lock; the current schema is mixed
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
// Postgres it holds an advisory lock meanwhile, so replicas that start
// together migrate one at a time and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	m, err := s.migrator()
	if err != nil {
		return nil, err
	}
	if s.postgres {
		unlock, err := s.advisoryLock(ctx)
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

// advisoryLock takes the migration lock on a connection outside the pool,
// so that it works whatever the pool size, and returns its release.
func (s *Store) advisoryLock(ctx context.Context) (func(), error) {
	db := sql.OpenDB(s.connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1 || current_schema()))", migrationLockKey); err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return func() {
		// Closing the session releases the lock even if the unlock fails.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1 || current_schema()))", migrationLockKey)
		conn.Close()
		db.Close()
	}, nil
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
