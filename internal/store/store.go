// Package store keeps the participant service's data with bun, on
// PostgreSQL (pgdriver) or on an embedded SQLite file (a pure-Go driver).
// It implements participant.Store and translates driver errors into domain
// errors, so nothing above it sees SQL.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/extra/bunotel"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver

	"github.com/telegive/participant-service/internal/participant"
)

// Options configure the connection pool.
type Options struct {
	// PostgresURL selects PostgreSQL; empty selects SQLite at SQLitePath.
	PostgresURL string
	SQLitePath  string
	PoolSize    int
	// PoolTimeout bounds connecting to the database.
	PoolTimeout time.Duration
	// PoolRecycle is the longest a connection is reused.
	PoolRecycle time.Duration
	// ReadTimeout bounds one wait for the database's answer on Postgres;
	// 0 keeps the driver's default of 10 s, which is too short for a draw
	// or a migration over millions of rows.
	ReadTimeout time.Duration
	// ApplicationName is shown in pg_stat_activity.
	ApplicationName string
	// TracerProvider traces every query; nil disables it.
	TracerProvider trace.TracerProvider
	// Replica is a read replica for the reads callers mark with
	// AllowStale; Postgres only. It is not connected to at Open: a
	// replica that is down is a fallback to the primary, not an error.
	Replica ReplicaOptions
}

// Store is the bun-backed participant.Store.
type Store struct {
	queries
	opts     Options
	db       *bun.DB
	postgres bool
	// connector opens connections outside the pool, for the migration
	// lock.
	connector *pgdriver.Connector
	// logSem is WithLogLock's lock on SQLite, which only one process
	// serves.
	logSem chan struct{}
	// enroller coalesces concurrent registrations on Postgres.
	enroller *enroller
	// replica serves marked reads; nil without one (see reads.go).
	replica *replica
}

var _ participant.Store = (*Store)(nil)

// Open connects to the database the options select. It does not migrate.
func Open(ctx context.Context, o Options) (*Store, error) {
	s, err := open(o)
	if err != nil {
		return nil, err
	}
	s.opts = o
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, wrap("connect", err)
	}
	return s, nil
}

// pgConnector connects to the Postgres server at url with o's dial and
// read timeouts and application name: the primary's and the replica's
// connections alike.
func pgConnector(o Options, url string) *pgdriver.Connector {
	opts := []pgdriver.Option{pgdriver.WithDSN(url)}
	if o.PoolTimeout > 0 {
		opts = append(opts, pgdriver.WithDialTimeout(o.PoolTimeout))
	}
	if o.ReadTimeout > 0 {
		opts = append(opts, pgdriver.WithReadTimeout(o.ReadTimeout))
	}
	if o.ApplicationName != "" {
		opts = append(opts, pgdriver.WithApplicationName(o.ApplicationName))
	}
	return pgdriver.NewConnector(opts...)
}

func open(o Options) (*Store, error) {
	if o.PoolSize <= 0 {
		o.PoolSize = 10
	}
	if o.PostgresURL != "" {
		connector := pgConnector(o, o.PostgresURL)
		sqldb := sql.OpenDB(connector)
		sqldb.SetMaxOpenConns(o.PoolSize)
		sqldb.SetMaxIdleConns(o.PoolSize)
		sqldb.SetConnMaxLifetime(o.PoolRecycle)
		db := traced(bun.NewDB(sqldb, pgdialect.New()), "postgres", o.TracerProvider)
		s := &Store{queries: queries{db: db, postgres: true}, db: db, postgres: true, connector: connector,
			enroller: &enroller{}}
		if o.Replica.URL != "" {
			s.replica = openReplica(o)
		}
		return s, nil
	}
	if o.Replica.URL != "" {
		return nil, errors.New("store: a read replica needs PostgreSQL")
	}
	if dir := filepath.Dir(o.SQLitePath); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, wrap("create the SQLite directory", err)
		}
	}
	// One connection serializes every transaction, which is what makes the
	// embedded database as safe under concurrency as Postgres with its row
	// locks; WAL and a busy timeout let other processes (the migrate
	// command) share the file.
	dsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate",
		filepath.ToSlash(o.SQLitePath))
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, wrap("open SQLite", err)
	}
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	db := traced(bun.NewDB(sqldb, sqlitedialect.New()), "sqlite", o.TracerProvider)
	return &Store{queries: queries{db: db}, db: db, logSem: make(chan struct{}, 1)}, nil
}

// traced adds a span per query when tp is set. Spans carry the query text
// as written, with ? placeholders: formatted queries would put user data
// into traces.
func traced(db *bun.DB, name string, tp trace.TracerProvider) *bun.DB {
	if tp == nil {
		return db
	}
	return db.WithQueryHook(bunotel.NewQueryHook(bunotel.WithDBName(name),
		bunotel.WithTracerProvider(tp), bunotel.WithFormattedQueries(false)))
}

// Options returns the options the store was opened with.
func (s *Store) Options() Options { return s.opts }

// DB returns the bun handle, for instrumentation and tests.
func (s *Store) DB() *bun.DB { return s.db }

// Dialect names the database in use: "postgres" or "sqlite".
func (s *Store) Dialect() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Close closes every connection, the replica's too.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.replica != nil {
		err = errors.Join(err, s.replica.db.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
		return err
	}
	return nil
}

// PoolStats reports the connection pool's state.
func (s *Store) PoolStats() sql.DBStats { return s.db.Stats() }

// maxTxAttempts bounds the retries of a transaction that lost a
// serialization race or a deadlock.
const maxTxAttempts = 4

// InTx runs fn in a transaction and retries it on serialization failures and
// deadlocks, which Postgres resolves by aborting one of the parties.
func (s *Store) InTx(ctx context.Context, fn func(participant.Queries) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.inTx(ctx, fn)
		if !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func (s *Store) inTx(ctx context.Context, fn func(participant.Queries) error) (err error) {
	// The transaction runs on a dedicated connection so that COPY can use
	// the same session (see EligibleEntrants).
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return wrap("acquire a connection", err)
	}
	defer conn.Close()
	if s.postgres {
		return pgTx(ctx, conn, fn)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(queries{db: tx, conn: &conn}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	return nil
}

// pgTx runs fn between BEGIN and COMMIT sent as plain statements. The
// driver sends the COMMIT and ROLLBACK of database/sql transactions without
// a context, so a database that stopped answering would hold them, and the
// request, for the whole read timeout (minutes, for draws); statements obey
// the request's deadline.
func pgTx(ctx context.Context, conn bun.Conn, fn func(participant.Queries) error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return wrap("begin", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// ROLLBACK within the request's deadline too. A connection that
		// cannot roll back in time, or whose request is already over, is
		// closed instead (ErrBadConn makes database/sql discard it), which
		// ends the transaction on the server as well; the pool never gets
		// a connection inside a transaction.
		if ctx.Err() == nil {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err == nil {
				return
			}
		}
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}()
	if err := fn(queries{db: conn, conn: &conn, postgres: true}); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return wrap("commit", err)
	}
	committed = true
	return nil
}

func retryable(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		switch pgErr.Field('C') {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}
