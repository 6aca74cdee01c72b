package testenv_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/testenv"
)

// leftovers records what a test started, to check after it ended that no
// process and no directory of it remains.
type leftovers struct {
	pids  []int
	dirs  []string
	marks []string // strings in the command line of every process started
}

func (l *leftovers) cluster(c *testenv.Cluster) {
	l.pids = append(l.pids, c.PID())
	l.dirs = append(l.dirs, filepath.Dir(c.DataDir()))
	l.marks = append(l.marks, c.Name(), c.DataDir())
}

func (l *leftovers) pgbouncer(b *testenv.PgBouncer) {
	l.pids = append(l.pids, b.PID())
	l.dirs = append(l.dirs, b.Dir())
	l.marks = append(l.marks, b.Dir())
}

// check fails t if a process or directory recorded is still there.
func (l *leftovers) check(t *testing.T) {
	t.Helper()
	if len(l.pids) == 0 {
		t.Fatal("nothing recorded: the test did not get as far as starting its servers")
	}
	for _, pid := range l.pids {
		if pid <= 0 {
			t.Errorf("recorded pid %d: the server was not running when recorded", pid)
		} else if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after the test (kill 0: %v)", pid, err)
		}
	}
	for _, d := range l.dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory %s still exists after the test (%v)", d, err)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		for _, m := range l.marks {
			if strings.Contains(cmdline, m) {
				t.Errorf("process %s still runs after the test: %s", filepath.Base(filepath.Dir(p)), cmdline)
			}
		}
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithDialTimeout(5*time.Second)))
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(ctxFor(t, 30*time.Second), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func sqlState(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

func TestStartCluster(t *testing.T) {
	t.Parallel()
	var left leftovers
	t.Run("cluster", func(t *testing.T) {
		c := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app", Settings: map[string]string{"work_mem": "8MB"}})
		left.cluster(c)

		u, err := url.Parse(c.URL())
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != "postgres" || u.User.Username() != "postgres" || u.Host != c.Addr() || u.Path != "/app" || u.Query().Get("sslmode") != "disable" {
			t.Errorf("URL = %s, want postgres://postgres@%s/app?sslmode=disable", c.URL(), c.Addr())
		}
		if c.Port() == 5432 || c.Addr() != "127.0.0.1:"+strconv.Itoa(c.Port()) {
			t.Errorf("Addr = %s, Port = %d: want a port of its own on 127.0.0.1", c.Addr(), c.Port())
		}
		for query, want := range map[string]string{
			"SELECT current_database()":                "app",
			"SELECT current_setting('port')":           strconv.Itoa(c.Port()),
			"SELECT current_setting('cluster_name')":   c.Name(),
			"SHOW fsync":                               "off",
			"SHOW work_mem":                            "8MB",
			"SHOW wal_level":                           "replica",
			"SHOW hot_standby":                         "on",
			"SELECT pg_is_in_recovery()":               "false",
			"SELECT current_setting('data_directory')": c.DataDir(),
		} {
			if got := c.QueryString(query); got != want {
				t.Errorf("%s = %q, want %q", query, got, want)
			}
		}

		c.Exec("CREATE TABLE kept (v int)")
		c.Exec("INSERT INTO kept VALUES (1)")
		pid := c.PID()
		c.Stop(testenv.StopFast)
		if c.Running() || c.PID() != 0 {
			t.Fatalf("after Stop: Running = %v, PID = %d", c.Running(), c.PID())
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("postmaster %d still exists after Stop (kill 0: %v)", pid, err)
		}
		if err := c.DB().PingContext(ctxFor(t, 5*time.Second)); err == nil {
			t.Error("the stopped cluster still answers")
		}
		c.Start()
		if got := c.QueryString("SELECT count(*) FROM kept"); got != "1" {
			t.Errorf("after a fast stop and start: %s rows, want 1", got)
		}

		// A crash: committed rows survive crash recovery.
		c.Exec("INSERT INTO kept VALUES (2)")
		c.Stop(testenv.StopImmediate)
		c.Start()
		if got := c.QueryString("SELECT string_agg(v::text, ',' ORDER BY v) FROM kept"); got != "1,2" {
			t.Errorf("after an immediate stop and start: rows %q, want 1,2", got)
		}
		left.pids = append(left.pids, c.PID())
	})
	left.check(t)
}

func TestReplica(t *testing.T) {
	t.Parallel()
	var left leftovers
	t.Run("replica", func(t *testing.T) {
		p := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
		p.Exec("CREATE TABLE items (id int PRIMARY KEY, note text)")
		r := testenv.StartReplica(t, p, testenv.ReplicaOptions{})
		left.cluster(p)
		left.cluster(r.Cluster)

		if r.Port() == p.Port() || r.DataDir() == p.DataDir() {
			t.Fatalf("replica shares the primary's port or directory: %s %s, %s %s", r.Addr(), r.DataDir(), p.Addr(), p.DataDir())
		}
		if r.Primary() != p {
			t.Error("Primary is not the cluster the replica was made from")
		}
		if got := r.QueryString("SELECT pg_is_in_recovery()"); got != "true" {
			t.Errorf("replica pg_is_in_recovery = %s, want true", got)
		}
		if got := p.QueryString("SELECT state || '/' || sync_state FROM pg_stat_replication WHERE application_name = $1", r.Name()); got != "streaming/async" {
			t.Errorf("primary's pg_stat_replication for %s: %q, want streaming/async", r.Name(), got)
		}

		t.Run("streams a row", func(t *testing.T) {
			p.Exec("INSERT INTO items VALUES (1, 'one')")
			if err := r.WaitReplayed(ctxFor(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := r.QueryString("SELECT note FROM items WHERE id = 1"); got != "one" {
				t.Errorf("replica has note %q for row 1, want one", got)
			}
			_, err := r.DB().ExecContext(ctxFor(t, 10*time.Second), "INSERT INTO items VALUES (9, 'nine')")
			if sqlState(err) != "25006" { // read_only_sql_transaction
				t.Errorf("write on the replica: %v, want a read-only error (25006)", err)
			}
		})

		t.Run("paused replay lags", func(t *testing.T) {
			r.PauseReplay()
			p.Exec("INSERT INTO items VALUES (2, 'two')")
			lag, err := r.ReplayLag(ctxFor(t, 10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if lag.Bytes <= 0 || lag.Time <= 0 {
				t.Errorf("lag while paused = %+v, want bytes and time above zero", lag)
			}
			if got := r.QueryString("SELECT count(*) FROM items"); got != "1" {
				t.Errorf("replica sees %s rows while paused, want 1", got)
			}
			short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if err := r.WaitReplayed(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitReplayed while paused: %v, want the deadline exceeded", err)
			}

			r.ResumeReplay()
			if err := r.WaitReplayed(ctxFor(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := r.QueryString("SELECT count(*) FROM items"); got != "2" {
				t.Errorf("replica sees %s rows after resuming, want 2", got)
			}
			// The primary writes WAL of its own now and then (standby
			// snapshots), so wait for a zero rather than expect one.
			deadline := time.Now().Add(10 * time.Second)
			for {
				lag, err := r.ReplayLag(ctxFor(t, 10*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if lag == (testenv.ReplicationLag{}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("lag after resuming = %+v, want zero", lag)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	})
	left.check(t)
}

// TestSynchronousReplicaFailover plays the failover the service must
// survive: a synchronous replica, the primary lost, the replica promoted
// and the service's address moved to it.
func TestSynchronousReplicaFailover(t *testing.T) {
	t.Parallel()
	var left leftovers
	t.Run("failover", func(t *testing.T) {
		p := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
		p.Exec("CREATE TABLE items (id int PRIMARY KEY)")
		r := testenv.StartReplica(t, p, testenv.ReplicaOptions{Synchronous: true})
		left.cluster(p)
		left.cluster(r.Cluster)

		if got := p.QueryString("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", r.Name()); got != "sync" {
			t.Errorf("primary's pg_stat_replication sync_state for %s = %q, want sync", r.Name(), got)
		}
		if got, want := p.QueryString("SHOW synchronous_standby_names"), `FIRST 1 ("`+r.Name()+`")`; got != want {
			t.Errorf("synchronous_standby_names = %q, want %q", got, want)
		}

		svc := testenv.NewProxy(t, p.Addr())
		db := openDB(t, p.URLAt(svc.Addr()))
		if _, err := db.ExecContext(ctxFor(t, 10*time.Second), "INSERT INTO items VALUES (1)"); err != nil {
			t.Fatal(err)
		}

		t.Run("commits wait for the synchronous replica", func(t *testing.T) {
			r.Stop(testenv.StopFast)
			short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if _, err := db.ExecContext(short, "INSERT INTO items VALUES (2)"); err == nil {
				t.Fatal("a commit returned while the synchronous replica was down")
			}
			if got := p.QueryString("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"); got != "1" {
				t.Errorf("%s backends wait for the synchronous replica, want 1", got)
			}
			r.Start()
			deadline := time.Now().Add(30 * time.Second)
			for p.QueryString("SELECT count(*) FROM items WHERE id = 2") != "1" {
				if time.Now().After(deadline) {
					t.Fatal("the waiting commit did not complete once the replica was back")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})

		t.Run("promotion", func(t *testing.T) {
			p.Stop(testenv.StopImmediate)
			svc.Stop()
			r.Promote()
			svc.SetTarget(r.Addr())
			svc.Start()
			if svc.Target() != r.Addr() {
				t.Errorf("proxy target = %s, want %s", svc.Target(), r.Addr())
			}

			after := openDB(t, p.URLAt(svc.Addr()))
			if got := queryInt(t, after, "SELECT inet_server_port()"); got != int64(r.Port()) {
				t.Errorf("the service address reaches port %d, want the promoted replica's %d", got, r.Port())
			}
			if got := queryInt(t, after, "SELECT count(*) FROM items WHERE NOT pg_is_in_recovery()"); got != 2 {
				t.Errorf("the promoted replica has %d committed rows and is writable, want 2", got)
			}
			if _, err := after.ExecContext(ctxFor(t, 10*time.Second), "INSERT INTO items VALUES (3)"); err != nil {
				t.Fatalf("write after promotion: %v", err)
			}
			if got := r.QueryString("SELECT string_agg(id::text, ',' ORDER BY id) FROM items"); got != "1,2,3" {
				t.Errorf("rows after promotion %q, want 1,2,3", got)
			}
		})
	})
	left.check(t)
}
