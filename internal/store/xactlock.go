package store

import (
	"context"
	"database/sql"
	"time"
)

// xactLock begins a transaction on conn and takes in it the
// transaction-level advisory lock named by key and the current schema,
// which committing or rolling back the transaction releases. Unlike a
// session-level lock it works through PgBouncer in transaction pooling,
// where a session's consecutive transactions may run on different server
// connections.
//
// While another transaction holds the lock it ends its own and tries again
// every poll until ctx ends, rather than waiting in pg_advisory_xact_lock:
// a waiter then holds no server connection, of which PgBouncer has few and
// the holder needs more than its locking one (its work runs on the pool).
// Waiters blocked in the lock, one server connection each, could take them
// all and stall the holder. On an error the transaction may be left open:
// the caller closes the connection.
func xactLock(ctx context.Context, conn *sql.Conn, key string, poll time.Duration) error {
	for {
		locked, err := tryXactLock(ctx, conn, key)
		if err != nil || locked {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// tryXactLock begins a transaction and takes the lock in it if it is free.
// It leaves the transaction open when it took the lock and ends it when it
// did not.
func tryXactLock(ctx context.Context, conn *sql.Conn, key string) (bool, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return false, err
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock(hashtext($1 || current_schema()))", key).Scan(&locked); err != nil {
		return false, err
	}
	if !locked {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return false, err
		}
	}
	return locked, nil
}
