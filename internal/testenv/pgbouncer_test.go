package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/testenv"
)

type bouncedItem struct {
	bun.BaseModel `bun:"table:bounced_items"`
	ID            int64  `bun:",pk"`
	Note          string `bun:",notnull"`
}

var errRollBack = errors.New("roll back")

func TestPgBouncer(t *testing.T) {
	t.Parallel()
	var left leftovers
	t.Run("pgbouncer", func(t *testing.T) {
		c := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
		// One server connection, so that sharing it shows.
		b := testenv.StartPgBouncer(t, c.URL(), testenv.PgBouncerOptions{PoolSize: 1})
		left.cluster(c)
		left.pgbouncer(b)

		u, err := url.Parse(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != b.Addr() || u.Path != "/app" || u.User.Username() != "postgres" || u.Query().Get("sslmode") != "disable" {
			t.Errorf("URL = %s, want postgres://postgres@%s/app?sslmode=disable", b.URL(), b.Addr())
		}
		if !regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`).MatchString(b.Version()) {
			t.Errorf("Version = %q, want a version number", b.Version())
		}
		if b.MaxPreparedStatements() != 0 {
			t.Errorf("MaxPreparedStatements = %d without asking, want 0", b.MaxPreparedStatements())
		}

		sqldb := openDB(t, b.URL())
		db := bun.NewDB(sqldb, pgdialect.New())
		ctx := ctxFor(t, time.Minute)

		t.Run("passes queries through", func(t *testing.T) {
			if got := queryInt(t, sqldb, "SELECT inet_server_port()"); got != int64(c.Port()) {
				t.Errorf("the query ran on port %d, want the cluster's %d", got, c.Port())
			}
			var db, quoted string
			if err := sqldb.QueryRowContext(ctx, "SELECT current_database(), $1::text", `it's "quoted" \ too`).Scan(&db, &quoted); err != nil {
				t.Fatal(err)
			}
			if db != "app" || quoted != `it's "quoted" \ too` {
				t.Errorf("got %q, %q; want app and the argument back unchanged", db, quoted)
			}
		})

		t.Run("transaction pooling", func(t *testing.T) {
			// Two client connections at once, on the one server
			// connection: in session pooling the second would wait for
			// the first to disconnect.
			c1, err := sqldb.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c1.Close()
			c2, err := sqldb.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			var pid1, pid2 int
			if err := c1.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid1); err != nil {
				t.Fatal(err)
			}
			if err := c2.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid2); err != nil {
				t.Fatal(err)
			}
			if pid1 != pid2 || pid1 == 0 {
				t.Errorf("backend pids %d and %d, want the one server connection for both clients", pid1, pid2)
			}
		})

		t.Run("bun transactions", func(t *testing.T) {
			if _, err := db.NewCreateTable().Model((*bouncedItem)(nil)).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.NewInsert().Model(&bouncedItem{ID: 1, Note: "rolled back"}).Exec(ctx); err != nil {
					return err
				}
				n, err := tx.NewSelect().Model((*bouncedItem)(nil)).Count(ctx)
				if err != nil {
					return err
				}
				if n != 1 {
					t.Errorf("inside the transaction: %d rows, want its own 1", n)
				}
				return errRollBack
			})
			if !errors.Is(err, errRollBack) {
				t.Fatalf("RunInTx = %v, want the rollback error", err)
			}
			if n, err := db.NewSelect().Model((*bouncedItem)(nil)).Count(ctx); err != nil || n != 0 {
				t.Fatalf("after the rollback: %d rows (%v), want 0", n, err)
			}
			err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.NewInsert().Model(&[]bouncedItem{{ID: 1, Note: "it's kept"}, {ID: 2, Note: "two"}}).Exec(ctx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []bouncedItem
			if err := db.NewSelect().Model(&got).Where("id >= ?", 1).Order("id").Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Note != "it's kept" || got[1].Note != "two" {
				t.Errorf("after the commit: %+v, want rows 1 and 2", got)
			}
			if n := queryInt(t, c.DB(), "SELECT count(*) FROM bounced_items"); n != 2 {
				t.Errorf("the cluster itself has %d rows, want 2", n)
			}
		})

		t.Run("COPY TO STDOUT", func(t *testing.T) {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var buf bytes.Buffer
			if _, err := pgdriver.CopyTo(ctx, conn, &buf, "COPY (SELECT id, note FROM bounced_items ORDER BY id) TO STDOUT"); err != nil {
				t.Fatal(err)
			}
			if buf.String() != "1\tit's kept\n2\ttwo\n" {
				t.Errorf("COPY gave %q", buf.String())
			}
		})

		t.Run("named prepared statements do not survive a transaction", func(t *testing.T) {
			// What the doc comment of StartPgBouncer warns of: pgdriver
			// names statements per client connection, and without
			// max_prepared_statements two clients' first statements meet
			// on the one server connection. A pool of its own, closed at
			// the end, so that no client connection of this stays in a
			// half-finished exchange.
			prep := openDB(t, b.URL())
			c1, err := prep.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c1.Close()
			c2, err := prep.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			s1, err := c1.PrepareContext(ctx, "SELECT 1")
			if err != nil {
				t.Fatal(err)
			}
			defer s1.Close()
			_, err = c2.PrepareContext(ctx, "SELECT 2")
			if sqlState(err) != "42P05" { // duplicate_prepared_statement
				t.Errorf("second client's Prepare: %v, want 42P05 (prepared statement already exists)", err)
			}
		})

		t.Run("DSN settings leak to other clients", func(t *testing.T) {
			// pgdriver turns this parameter into a SET on whatever server
			// connection serves the new client connection.
			leaky := openDB(t, b.URL()+"&search_path=leaked")
			if err := leaky.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			other := openDB(t, b.URL())
			var sp string
			if err := other.QueryRowContext(ctx, "SHOW search_path").Scan(&sp); err != nil {
				t.Fatal(err)
			}
			if sp != "leaked" {
				t.Errorf("another client's search_path = %q, want the leaked setting", sp)
			}
			// Put it back for the subtests after this one.
			if _, err := other.ExecContext(ctx, "RESET search_path"); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("password", func(t *testing.T) {
		c := testenv.StartCluster(t, testenv.ClusterOptions{})
		b := testenv.StartPgBouncer(t, c.URL(), testenv.PgBouncerOptions{Password: "s3cret'\"x"})
		left.pgbouncer(b)
		left.cluster(c)
		u, err := url.Parse(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		if pw, _ := u.User.Password(); pw != "s3cret'\"x" {
			t.Errorf("URL password = %q, want the one set", pw)
		}
		if n := queryInt(t, openDB(t, b.URL()), "SELECT 7"); n != 7 {
			t.Errorf("SELECT 7 through the password login = %d", n)
		}
		u.User = url.UserPassword("postgres", "wrong")
		err = openDB(t, u.String()).PingContext(ctxFor(t, 10*time.Second))
		// PgBouncer 1.18 says "SASL authentication failed" (08P01).
		if err == nil || !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("login with a wrong password: %v, want authentication failed", err)
		}
		u.User = url.User("postgres")
		if err := openDB(t, u.String()).PingContext(ctxFor(t, 10*time.Second)); err == nil {
			t.Error("login without a password succeeded")
		}
	})
	left.check(t)
}
