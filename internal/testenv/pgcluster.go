package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// A test's own PostgreSQL clusters, for what the shared server cannot
// show: streaming replicas, replication lag, a primary that stops and a
// replica promoted in its place. Each cluster lives in its own temporary
// directory on its own port, so tests that use them run in parallel, and
// the shared server on 5432 is never touched.
//
// The server binaries are the installed ones (the newest
// /usr/lib/postgresql/<version>/bin, else pg_config --bindir, else initdb
// on PATH). PostgreSQL refuses to run as root, so when the tests run as
// root every server process runs as the postgres OS user and the cluster
// directory belongs to it. The postmaster is a child of the test process,
// not daemonized by pg_ctl, so that it dies with the test process even when
// that one is killed, and Stop can signal it directly as pg_ctl would.

// StopMode is how Stop shuts a cluster down.
type StopMode int

const (
	// StopFast disconnects clients, rolling back what they had open, and
	// shuts down cleanly with a checkpoint (pg_ctl stop -m fast).
	StopFast StopMode = iota
	// StopImmediate kills the server processes without a checkpoint, as a
	// crash or a lost node does; the next Start runs crash recovery
	// (pg_ctl stop -m immediate).
	StopImmediate
)

func (m StopMode) String() string {
	if m == StopImmediate {
		return "immediate"
	}
	return "fast"
}

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Database is created at start-up unless it is "postgres", and URL
	// names it. Empty means "postgres".
	Database string
	// Settings are postgresql.conf settings written after the defaults, so
	// that they win. Values are quoted as needed.
	Settings map[string]string
}

// Cluster is a PostgreSQL server of the test's own. Its methods that fail
// the test use the testing.TB it was started with, so call them from that
// test's goroutine (or a subtest's); from other goroutines use DB.
type Cluster struct {
	tb       testing.TB
	tools    *pgTools
	name     string
	dir      string
	port     int
	database string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	db     *sql.DB
	// syncNames are the replicas in synchronous_standby_names, in order.
	syncNames []string
}

// StartCluster creates a cluster with initdb in a fresh temporary directory
// and starts it on a free port of 127.0.0.1, with trust authentication for
// every user and for replication. It is set up for tests, not for
// durability: fsync is off and shared_buffers small, while wal_level,
// max_wal_senders and hot_standby let StartReplica stream from it. The
// cluster is stopped and its directory removed when the test ends.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	began := time.Now()
	tools := postgresTools(tb)
	c := newCluster(tb, tools, opts.Database)
	out, err := tools.run(c.dir, "initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	settings := [][2]string{
		{"listen_addresses", "127.0.0.1"},
		{"unix_socket_directories", ""},
		{"fsync", "off"},
		{"shared_buffers", "16MB"},
		{"max_connections", "100"},
		{"wal_level", "replica"},
		{"max_wal_senders", "10"},
		{"max_replication_slots", "10"},
		// A replica stopped for a while can catch up without a slot.
		{"wal_keep_size", "128MB"},
		{"hot_standby", "on"},
		// Replicas report their positions and retry a lost primary
		// quickly, so lag and failover show within a second.
		{"wal_receiver_status_interval", "1s"},
		{"wal_retrieve_retry_interval", "1s"},
		{"lc_messages", "C"},
		{"log_line_prefix", "%m [%p] %q%a "},
	}
	if err := appendSettings(c.confPath(), append(settings, sortedSettings(opts.Settings)...)); err != nil {
		tb.Fatal(err)
	}
	c.startOnFreePort()
	if c.database != "postgres" {
		if err := c.execIn("postgres", "CREATE DATABASE "+quoteIdent(c.database)); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("PostgreSQL %s cluster %s on %s ready in %s", tools.version, c.name, c.Addr(), time.Since(began).Round(time.Millisecond))
	return c
}

// newCluster makes the cluster's directory and registers its teardown,
// before anything can fail, so that a half-started cluster goes too.
func newCluster(tb testing.TB, tools *pgTools, database string) *Cluster {
	tb.Helper()
	if database == "" {
		database = "postgres"
	}
	dir, err := os.MkdirTemp("", "testenv-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := tools.chown(dir); err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	c := &Cluster{tb: tb, tools: tools, name: "testenv-" + randomHex(4), dir: dir, database: database}
	tb.Cleanup(func() {
		if err := c.stop(StopFast, 30*time.Second); err != nil {
			tb.Logf("stop cluster %s: %v", c.name, err)
		}
		c.mu.Lock()
		if c.db != nil {
			c.db.Close()
		}
		c.mu.Unlock()
		if tb.Failed() {
			tb.Logf("last lines of the server log of %s (%s):\n%s", c.name, c.Addr(), c.logTail(40))
		}
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("remove %s: %v", dir, err)
		}
	})
	return c
}

// URL is the cluster's address as the service takes it:
// postgres://postgres@127.0.0.1:PORT/DATABASE?sslmode=disable.
func (c *Cluster) URL() string { return c.URLAt(c.Addr()) }

// URLAt is URL with another host and port, such as a Proxy's or a
// PgBouncer's in front of the cluster.
func (c *Cluster) URLAt(addr string) string { return postgresURL(addr, c.database) }

func postgresURL(addr, database string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: addr, Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// execIn runs a statement in another database of the cluster.
func (c *Cluster) execIn(database, query string) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(postgresURL(c.Addr(), database))))
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, query); err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, query, err)
	}
	return nil
}

// Addr is the cluster's host and port, 127.0.0.1:PORT.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// Port is the cluster's port, the same across Stop and Start.
func (c *Cluster) Port() int { return c.port }

// Name is the cluster's cluster_name, which every process of the server
// shows in its title; a replica's is also its application_name on the
// primary.
func (c *Cluster) Name() string { return c.name }

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir() }

// PID is the postmaster's process id, 0 while the cluster is stopped.
func (c *Cluster) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Running tells whether the server is up (started and not exited).
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// DB is a connection pool to URL through the service's driver, closed when
// the test ends. Stop closes its idle connections, so that the first query
// after Start does not fail on a connection to the server that was.
func (c *Cluster) DB() *sql.DB {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == nil {
		c.db = sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(c.URL()), pgdriver.WithDialTimeout(5*time.Second)))
		c.db.SetMaxIdleConns(4)
	}
	return c.db
}

// Exec runs a statement and fails the test if it fails.
func (c *Cluster) Exec(query string, args ...any) {
	c.tb.Helper()
	if err := c.exec(query, args...); err != nil {
		c.tb.Fatal(err)
	}
}

// QueryString runs a query for one value and returns it as text ("" for
// NULL), failing the test if it fails.
func (c *Cluster) QueryString(query string, args ...any) string {
	c.tb.Helper()
	s, err := c.queryString(query, args...)
	if err != nil {
		c.tb.Fatal(err)
	}
	return s
}

func (c *Cluster) exec(query string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.DB().ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, query, err)
	}
	return nil
}

func (c *Cluster) queryString(query string, args ...any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var s sql.NullString
	if err := c.DB().QueryRowContext(ctx, query, args...).Scan(&s); err != nil {
		return "", fmt.Errorf("%s: %s: %w", c.name, query, err)
	}
	return s.String, nil
}

// Stop shuts the server down and waits until every process of it is gone.
// It does nothing when the server is not running.
func (c *Cluster) Stop(mode StopMode) {
	c.tb.Helper()
	if err := c.stop(mode, time.Minute); err != nil {
		c.tb.Fatalf("stop %s: %v", c.name, err)
	}
}

// Start starts the stopped server again on the same port and waits until it
// accepts connections (a replica: until it has reached a consistent state).
func (c *Cluster) Start() {
	c.tb.Helper()
	if c.Running() {
		c.tb.Fatalf("start %s: already running", c.name)
	}
	if err := c.start(); err != nil {
		c.tb.Fatalf("start %s: %v\n%s", c.name, err, c.logTail(20))
	}
}

// Promote ends recovery on a replica (pg_ctl promote) and waits until it
// accepts writes.
func (c *Cluster) Promote() {
	c.tb.Helper()
	out, err := c.tools.run(c.dir, "pg_ctl", "promote", "-D", c.dataDir(), "-w", "-t", "60")
	if err != nil {
		c.tb.Fatalf("promote %s: %v\n%s\n%s", c.name, err, out, c.logTail(20))
	}
	if got := c.QueryString("SELECT pg_is_in_recovery()"); got != "false" {
		c.tb.Fatalf("promote %s: still in recovery after pg_ctl promote", c.name)
	}
}

func (c *Cluster) dataDir() string  { return filepath.Join(c.dir, "data") }
func (c *Cluster) confPath() string { return filepath.Join(c.dataDir(), "postgresql.conf") }
func (c *Cluster) logPath() string  { return filepath.Join(c.dir, "server.log") }

// startOnFreePort starts the server for the first time, on another free
// port whenever the one it picked was taken meanwhile.
func (c *Cluster) startOnFreePort() {
	c.tb.Helper()
	var err error
	for range 5 {
		if c.port, err = freePort(); err != nil {
			c.tb.Fatal(err)
		}
		settings := [][2]string{{"port", strconv.Itoa(c.port)}, {"cluster_name", c.name}}
		if err = appendSettings(c.confPath(), settings); err != nil {
			c.tb.Fatal(err)
		}
		var logStart int64
		if fi, statErr := os.Stat(c.logPath()); statErr == nil {
			logStart = fi.Size()
		}
		if err = c.start(); err == nil {
			return
		}
		if !strings.Contains(c.logSince(logStart), "could not bind") {
			break
		}
	}
	c.tb.Fatalf("start %s: %v\n%s", c.name, err, c.logTail(20))
}

// start runs the postmaster and waits until it answers.
func (c *Cluster) start() error {
	logFile, err := os.OpenFile(c.logPath(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := c.tools.command(c.dir, filepath.Join(c.tools.bin, "postgres"), "-D", c.dataDir())
	// If the test process dies, the postmaster shuts down at once and
	// takes its children with it.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()

	probe := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(postgresURL(c.Addr(), "postgres")), pgdriver.WithDialTimeout(time.Second)))
	defer probe.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := probe.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			c.mu.Lock()
			c.cmd = nil
			c.mu.Unlock()
			return fmt.Errorf("the server exited at start-up (%v)", cmd.ProcessState)
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = c.stop(StopImmediate, 10*time.Second)
			return fmt.Errorf("the server did not accept connections within 2 minutes: %w", err)
		}
	}
}

// stop signals the postmaster as pg_ctl stop would and waits for it; the
// postmaster exits only after all its children.
func (c *Cluster) stop(mode StopMode, timeout time.Duration) error {
	c.mu.Lock()
	cmd, exited, db := c.cmd, c.exited, c.db
	c.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer func() {
		if db != nil {
			// Drop the idle connections to the server that is gone.
			db.SetMaxIdleConns(0)
			db.SetMaxIdleConns(4)
		}
	}()
	sig := syscall.SIGINT
	if mode == StopImmediate {
		sig = syscall.SIGQUIT
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return fmt.Errorf("%s shutdown took longer than %s; stopped it immediately", mode, timeout)
}

func (c *Cluster) logSince(offset int64) string {
	b, err := os.ReadFile(c.logPath())
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return string(b[offset:])
}

func (c *Cluster) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(c.logSince(0), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ReplicaOptions configure StartReplica.
type ReplicaOptions struct {
	// Synchronous adds the replica to the primary's
	// synchronous_standby_names (FIRST 1 of the synchronous replicas, in
	// the order they were started), so that the primary's commits wait
	// until the replica has flushed them.
	Synchronous bool
	// Settings are the replica's own postgresql.conf settings, written
	// after those copied from the primary.
	Settings map[string]string
}

// Replica is a streaming replica of a Cluster, itself a Cluster: Promote
// makes it a primary.
type Replica struct {
	*Cluster
	primary     *Cluster
	synchronous bool
}

// StartReplica makes a streaming replica of primary with pg_basebackup -R,
// starts it on its own port and waits until the primary lists it in
// pg_stat_replication as streaming (and, with Synchronous, as a
// synchronous standby). Its application_name is its Name.
func StartReplica(tb testing.TB, primary *Cluster, opts ReplicaOptions) *Replica {
	tb.Helper()
	began := time.Now()
	c := newCluster(tb, primary.tools, primary.database)
	r := &Replica{Cluster: c, primary: primary, synchronous: opts.Synchronous}
	out, err := c.tools.run(c.dir, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port),
		"-U", "postgres", "-w", "-D", c.dataDir(), "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err != nil {
		tb.Fatalf("pg_basebackup from %s: %v\n%s", primary.name, err, out)
	}
	if err := appendSettings(c.confPath(), sortedSettings(opts.Settings)); err != nil {
		tb.Fatal(err)
	}
	// pg_basebackup -R wrote a primary_conninfo without an
	// application_name; name the replica so that the primary's
	// synchronous_standby_names and pg_stat_replication can. The primary's
	// own synchronous_standby_names came along in the copy: clear it, or
	// once promoted this replica would wait for standbys of the old
	// primary.
	auto := [][2]string{
		{"primary_conninfo", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", primary.port, c.name)},
		{"synchronous_standby_names", ""},
	}
	if err := appendSettings(filepath.Join(c.dataDir(), "postgresql.auto.conf"), auto); err != nil {
		tb.Fatal(err)
	}
	c.startOnFreePort()
	if opts.Synchronous {
		primary.mu.Lock()
		primary.syncNames = append(primary.syncNames, c.name)
		primary.mu.Unlock()
		if err := primary.setSynchronousStandbys(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			// Before this replica stops, so that a primary the test goes
			// on with does not wait for it forever.
			primary.mu.Lock()
			names := primary.syncNames[:0]
			for _, n := range primary.syncNames {
				if n != c.name {
					names = append(names, n)
				}
			}
			primary.syncNames = names
			primary.mu.Unlock()
			if primary.Running() {
				if err := primary.setSynchronousStandbys(); err != nil {
					tb.Logf("take %s out of the synchronous standbys: %v", c.name, err)
				}
			}
		})
	}
	want := "async"
	if opts.Synchronous {
		want = "sync"
		primary.mu.Lock()
		if primary.syncNames[0] != c.name {
			want = "potential"
		}
		primary.mu.Unlock()
	}
	r.waitReplication(want)
	tb.Logf("replica %s of %s on %s streaming (%s) in %s", c.name, primary.name, c.Addr(), want, time.Since(began).Round(time.Millisecond))
	return r
}

// setSynchronousStandbys writes syncNames to the primary's
// synchronous_standby_names and reloads it.
func (c *Cluster) setSynchronousStandbys() error {
	c.mu.Lock()
	quoted := make([]string, len(c.syncNames))
	for i, n := range c.syncNames {
		quoted[i] = quoteIdent(n)
	}
	c.mu.Unlock()
	value := ""
	if len(quoted) > 0 {
		value = "FIRST 1 (" + strings.Join(quoted, ", ") + ")"
	}
	if err := c.exec("ALTER SYSTEM SET synchronous_standby_names = " + quoteLiteral(value)); err != nil {
		return err
	}
	return c.exec("SELECT pg_reload_conf()")
}

// waitReplication waits until the primary streams to the replica with the
// given sync_state.
func (r *Replica) waitReplication(syncState string) {
	r.tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := r.primary.queryString(`SELECT coalesce(max(state || '/' || sync_state), '') FROM pg_stat_replication WHERE application_name = $1`, r.name)
		if err != nil {
			r.tb.Fatal(err)
		}
		if got == "streaming/"+syncState {
			return
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("replica %s: pg_stat_replication on %s says %q after a minute, want streaming/%s\n%s",
				r.name, r.primary.name, got, syncState, r.logTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Primary is the cluster the replica was made from.
func (r *Replica) Primary() *Cluster { return r.primary }

// WaitReplayed waits until the replica has replayed everything the primary
// had written when it was called, so that what was committed there is
// visible here. It waits until ctx is done while replay is paused.
func (r *Replica) WaitReplayed(ctx context.Context) error {
	var target string
	if err := r.primary.DB().QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		return fmt.Errorf("WAL position of the primary %s: %w", r.primary.name, err)
	}
	for {
		var done bool
		err := r.DB().QueryRowContext(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", target).Scan(&done)
		if err != nil {
			return fmt.Errorf("replay position of %s: %w", r.name, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica %s has not replayed up to %s: %w", r.name, target, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// PauseReplay stops the replica applying WAL (pg_wal_replay_pause) and
// waits until it has stopped: the replica goes on receiving WAL, so the
// primary's commits still count it, but they stay invisible on it, and
// ReplayLag grows, until ResumeReplay.
func (r *Replica) PauseReplay() {
	r.tb.Helper()
	r.Exec("SELECT pg_wal_replay_pause()")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// 'pause requested' is as good: the startup process checks it
		// before it applies the next record.
		if r.QueryString("SELECT pg_get_wal_replay_pause_state()") != "not paused" {
			return
		}
		if time.Now().After(deadline) {
			r.tb.Fatalf("replica %s: replay did not pause", r.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ResumeReplay undoes PauseReplay (pg_wal_replay_resume).
func (r *Replica) ResumeReplay() {
	r.tb.Helper()
	r.Exec("SELECT pg_wal_replay_resume()")
}

// ReplicationLag is how far a replica's replay is behind its primary.
type ReplicationLag struct {
	// Bytes is the WAL the primary has written that the replica has not
	// replayed yet.
	Bytes int64
	// Time is zero when Bytes is, and otherwise how long ago the last
	// transaction the replica replayed committed: an upper bound of how
	// stale its reads are.
	Time time.Duration
}

// ReplayLag measures the replica's replay lag now.
func (r *Replica) ReplayLag(ctx context.Context) (ReplicationLag, error) {
	var target string
	if err := r.primary.DB().QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target); err != nil {
		return ReplicationLag{}, fmt.Errorf("WAL position of the primary %s: %w", r.primary.name, err)
	}
	var bytes int64
	var seconds float64
	err := r.DB().QueryRowContext(ctx, `SELECT greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint,
		coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`, target).Scan(&bytes, &seconds)
	if err != nil {
		return ReplicationLag{}, fmt.Errorf("replay position of %s: %w", r.name, err)
	}
	if bytes == 0 {
		return ReplicationLag{}, nil
	}
	return ReplicationLag{Bytes: bytes, Time: time.Duration(seconds * float64(time.Second))}, nil
}

// pgTools are the installed PostgreSQL server binaries and the OS user to
// run them as.
type pgTools struct {
	bin     string
	version string
	osUser
}

var (
	pgToolsOnce sync.Once
	pgToolsVal  *pgTools
	pgToolsErr  error
)

// postgresTools finds the server binaries, or skips the test (fails it in
// CI) saying why.
func postgresTools(tb testing.TB) *pgTools {
	tb.Helper()
	pgToolsOnce.Do(func() { pgToolsVal, pgToolsErr = findPostgresTools() })
	if pgToolsErr != nil {
		toolMissing(tb, "the PostgreSQL server binaries", "postgresql", pgToolsErr)
	}
	return pgToolsVal
}

func findPostgresTools() (*pgTools, error) {
	var candidates []string
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(dirs[j])), filepath.Base(filepath.Dir(dirs[i])))
	})
	candidates = append(candidates, dirs...)
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if !hasAll(dir, "initdb", "pg_ctl", "postgres", "pg_basebackup") {
			continue
		}
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %w", filepath.Join(dir, "postgres"), err)
		}
		version := strings.TrimSpace(string(out))
		if f := strings.Fields(version); len(f) >= 3 {
			version = f[2] // postgres (PostgreSQL) 15.19 (Debian ...)
		}
		u, err := serverUser()
		if err != nil {
			return nil, err
		}
		return &pgTools{bin: dir, version: version, osUser: u}, nil
	}
	return nil, errors.New("no initdb, pg_ctl, postgres and pg_basebackup in /usr/lib/postgresql/*/bin, pg_config --bindir or PATH")
}

func hasAll(dir string, names ...string) bool {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// versionLess orders "9.6" before "15".
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// run runs one of the server binaries to completion and returns its output.
func (t *pgTools) run(dir, name string, args ...string) ([]byte, error) {
	cmd := t.command(dir, filepath.Join(t.bin, name), args...)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd.CombinedOutput()
}

// osUser is whom server processes run as: the postgres OS user when the
// tests run as root (PostgreSQL and PgBouncer refuse root), else the
// current user.
type osUser struct {
	switchTo bool
	uid, gid uint32
}

func serverUser() (osUser, error) {
	if os.Geteuid() != 0 {
		return osUser{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return osUser{}, fmt.Errorf("the tests run as root, and there is no postgres OS user to run the servers as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return osUser{}, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return osUser{}, err
	}
	return osUser{switchTo: true, uid: uint32(uid), gid: uint32(gid)}, nil
}

// command prepares path to run as the user, in dir, without the PG*
// variables of the test's environment (PGPORT and the like would redirect
// the tools).
func (u osUser) command(dir, path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if u.switchTo {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}
	}
	return cmd
}

// chown gives a file or directory to the user.
func (u osUser) chown(dir string) error {
	if !u.switchTo {
		return nil
	}
	return os.Chown(dir, int(u.uid), int(u.gid))
}

// toolMissing skips the test, or fails it in CI, saying which tool is
// missing and how to install it.
func toolMissing(tb testing.TB, what, debianPackage string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s are required in CI (CI=true) but unavailable: %v", what, err)
	}
	tb.Skipf("skipping: %s are unavailable (%v); on Debian: apt-get install %s", what, err, debianPackage)
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// appendSettings appends settings to a postgresql.conf-style file; the
// last setting of a name wins.
func appendSettings(path string, settings [][2]string) error {
	if len(settings) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("\n# testenv\n")
	for _, kv := range settings {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], quoteLiteral(kv[1]))
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sortedSettings(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
