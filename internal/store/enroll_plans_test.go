package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// TestEnrollPlansStayKeyLookupsAsTablesGrow: PL/pgSQL keeps the plans of
// enroll_participants for the life of a server connection, so a plan made
// while the tables were small must still be right once they are large.
// Within one transaction (one server connection, also through PgBouncer)
// the function is called past the five custom plans after which PL/pgSQL
// settles on a generic one, the tables then grow without an ANALYZE, and
// one more call must read no table sequentially: a plan that scanned
// participants, users or draws would read every row on every registration.
func TestEnrollPlansStayKeyLookupsAsTablesGrow(t *testing.T) {
	s := testenv.OpenStore(t, "postgres")
	ctx := context.Background()
	commitDraw(t, s, 1)

	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	enroll := func(users ...int64) {
		t.Helper()
		rows := make([]string, len(users))
		for i, u := range users {
			rows[i] = fmt.Sprintf(`{"i":%d,"g":1,"u":%d,"at":"2026-12-01 12:00:00+00","sv":false}`, i, u)
		}
		res, err := tx.QueryContext(ctx, store.EnrollSQL, "["+strings.Join(rows, ",")+"]")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for res.Next() {
			var (
				i                 int
				status            sql.NullString
				passed            sql.NullBool
				created, existing sql.NullInt64
			)
			if err := res.Scan(&i, &status, &passed, &created, &existing); err != nil {
				t.Fatal(err)
			}
			if !created.Valid {
				t.Fatalf("user %d not registered: status %v, captcha %v", users[i], status, passed)
			}
			n++
		}
		if err := res.Err(); err != nil || n != len(users) {
			t.Fatalf("%d rows for %d registrations, %v", n, len(users), err)
		}
	}
	seqRead := func() int64 {
		t.Helper()
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(seq_tup_read), 0) FROM pg_stat_xact_user_tables
			WHERE relid IN ('participants'::regclass, 'users'::regclass, 'draws'::regclass)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	exec(`INSERT INTO users (user_id, captcha_completed, captcha_completed_at)
		SELECT g, TRUE, now() FROM generate_series(1, 100) g`)
	for u := int64(1); u <= 10; u++ {
		enroll(u)
	}
	exec(`INSERT INTO users (user_id, captcha_completed, captcha_completed_at)
		SELECT g, TRUE, now() FROM generate_series(1000, 60999) g`)
	exec(`INSERT INTO participants (giveaway_id, user_id, participated_at)
		SELECT 2, g, now() FROM generate_series(1000, 60999) g`)
	exec(`INSERT INTO draws (giveaway_id, status, server_seed, commitment, committed_at)
		SELECT g, 'committed', decode(repeat('00', 32), 'hex'), '\x00', now() FROM generate_series(1000, 5999) g`)

	before := seqRead()
	enroll(20, 21, 22, 23, 24)
	if read := seqRead() - before; read > 0 {
		t.Errorf("a registration of 5 users read %d rows sequentially once the tables had grown: a kept plan scans a table", read)
	}
}
