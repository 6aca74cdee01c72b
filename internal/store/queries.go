package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/internal/participant"
)

// queries implements participant.Queries on a bun.IDB, so the same code
// runs inside a transaction or directly on the pool. Each noun's queries
// and table row are in the file of that noun: participants.go, users.go,
// challenges.go, draws.go and admin.go.
type queries struct {
	db bun.IDB
	// conn is the transaction's connection, used for COPY on Postgres.
	conn     *bun.Conn
	postgres bool
}

// lockClause is the row lock for mode. SQLite has none: its single
// connection already serializes transactions.
func (q queries) lockClause(mode participant.LockMode) string {
	if !q.postgres {
		return ""
	}
	switch mode {
	case participant.LockShared:
		// KEY SHARE is the weakest lock that still conflicts with the
		// draw's FOR UPDATE, so concurrent registrations do not block each
		// other.
		return " FOR KEY SHARE"
	case participant.LockExclusive:
		return " FOR UPDATE"
	}
	return ""
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return participant.ErrNotFound
	}
	return wrap("query", err)
}

func expectRows(res sql.Result, want int64, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n != want {
		return fmt.Errorf("store: %s: %d rows changed, want %d", what, n, want)
	}
	return nil
}

// nullable stores an empty optional text as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// optTime reads a nullable time column as the domain's optional time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
