package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PgBouncer in front of a test's Postgres, as production runs it.
//
// What the service's driver needs from it. The service talks to Postgres
// through bun and its driver github.com/uptrace/bun/driver/pgdriver
// (v1.2.18), which works through PgBouncer in transaction pooling mode on
// any version, with no prepared-statement support in PgBouncer:
//
//   - Queries and statements (all that bun sends) never use the extended
//     protocol. pgdriver implements QueryerContext and ExecerContext, so
//     database/sql never prepares; pgdriver formats the arguments into the
//     SQL on the client (which is why it insists at login that
//     standard_conforming_strings is on and client_encoding UTF8) and sends
//     one simple Query message. No statement outlives the round trip, so
//     max_prepared_statements is not needed: 0 will do. Debian 12 ships
//     PgBouncer 1.18, and the setting exists only from 1.21 on.
//   - Only an explicit Prepare (db.Prepare, tx.Prepare, bun's
//     DB.PrepareContext) creates a named statement, "pgdriver-N" counted
//     per client connection. Outside a transaction it lands on whichever
//     server connection is free, so later use fails with "prepared
//     statement does not exist", or clashes with another client's
//     "pgdriver-0" ("already exists"). Closing it is worse: pgdriver ends
//     the Close with Flush, not Sync, so PgBouncer leaves that server
//     connection to the idle client until its next query, and the pool
//     runs dry. Don't, unless PgBouncer is 1.21 or later with
//     max_prepared_statements > 0.
//   - The startup packet carries only user, database and application_name,
//     which PgBouncer tracks itself: no ignore_startup_parameters.
//   - Any other DSN query parameter (search_path, statement_timeout, ...)
//     becomes "SET name TO value" once, right after a new client
//     connection logs in. In transaction pooling that SET stays on one
//     server connection, shared with other clients, and this client's
//     later transactions run without it. Set such parameters on the role
//     or database (ALTER ROLE ... SET) instead. PostgresSchema's search_path
//     URLs therefore do not go through PgBouncer.
//   - Session state does not survive a transaction, so a session-level
//     advisory lock would stay on whichever server connection took it.
//     internal/store takes its locks (the migration lock and the draw
//     log's) with pg_advisory_xact_lock inside a transaction it keeps open
//     meanwhile, on a connection of its own: a migrating replica holds two
//     server connections at once, so default_pool_size must be 2 or more.
//   - A context deadline makes pgdriver close the connection, not send a
//     cancel request; PgBouncer then closes the server connection it was
//     using, and the query runs on until Postgres notices the client gone.
//   - COPY ... TO STDOUT (the export) is a simple query and works.
//
// The pool settings that matter for it: default_pool_size (server
// connections per database and user) against DATABASE_POOL_SIZE times the
// service's replicas, which become client connections (max_client_conn);
// query_wait_timeout, how long a transaction waits for a server
// connection, against DATABASE_POOL_TIMEOUT; and server_login_retry, how
// long PgBouncer waits after a failed login to the server before trying
// again (15 s by default, 1 s here so that failover shows quickly).

// PgBouncerOptions configure StartPgBouncer.
type PgBouncerOptions struct {
	// PoolMode is pool_mode: "transaction" (the default), "session" or
	// "statement".
	PoolMode string
	// PoolSize is default_pool_size, the server connections per database
	// and user (default 5).
	PoolSize int
	// MaxClientConn is max_client_conn (default 200).
	MaxClientConn int
	// Password, when set, is what clients must log in with, by
	// SCRAM-SHA-256 against the auth_file; URL carries it. Otherwise any
	// client naming the upstream's user is let in (auth_type trust).
	Password string
	// MaxPreparedStatements is max_prepared_statements (default 0: named
	// prepared statements are not tracked), written when the installed
	// PgBouncer has the setting (1.21 and later); see
	// PgBouncer.MaxPreparedStatements.
	MaxPreparedStatements int
	// Settings are further [pgbouncer] settings, written last.
	Settings map[string]string
}

// PgBouncer is a pgbouncer process of the test's own.
type PgBouncer struct {
	tb       testing.TB
	bin      *pgBouncerBinary
	dir      string
	upstream *url.URL
	password string
	port     int
	prepared int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartPgBouncer starts the installed pgbouncer (/usr/sbin/pgbouncer, else
// pgbouncer on PATH) on a free port of 127.0.0.1 in front of upstream, a
// postgres:// URL, with a generated ini file and auth_file, and waits until
// it accepts connections. Every database name is passed through to the
// upstream server. It is stopped and its directory removed when the test
// ends.
func StartPgBouncer(tb testing.TB, upstream string, opts PgBouncerOptions) *PgBouncer {
	tb.Helper()
	began := time.Now()
	bin := pgBouncerTool(tb)
	u, err := url.Parse(upstream)
	if err != nil || u.Hostname() == "" {
		tb.Fatalf("StartPgBouncer: upstream %q is not a postgres:// URL with a host (%v)", upstream, err)
	}
	dir, err := os.MkdirTemp("", "testenv-pgbouncer-")
	if err != nil {
		tb.Fatal(err)
	}
	b := &PgBouncer{tb: tb, bin: bin, dir: dir, upstream: u, password: opts.Password}
	tb.Cleanup(func() {
		b.stop()
		if tb.Failed() {
			tb.Logf("last lines of the pgbouncer log (%s):\n%s", b.Addr(), tailFile(b.logPath(), 30))
		}
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("remove %s: %v", dir, err)
		}
	})
	if err := bin.chown(dir); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(b.authPath(), []byte(authFile(b.user(), opts.Password)), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := bin.chown(b.authPath()); err != nil {
		tb.Fatal(err)
	}
	b.prepared = bin.preparedStatements(opts.MaxPreparedStatements)
	if b.prepared != opts.MaxPreparedStatements && opts.MaxPreparedStatements > 0 {
		tb.Logf("PgBouncer %s has no max_prepared_statements (1.21 and later have); running without", bin.version)
	}
	for range 5 {
		if b.port, err = freePort(); err != nil {
			tb.Fatal(err)
		}
		ini := pgBouncerIni(b.iniSettings(opts))
		if err = os.WriteFile(b.iniPath(), []byte(ini), 0o644); err != nil {
			tb.Fatal(err)
		}
		var logStart int64
		if fi, statErr := os.Stat(b.logPath()); statErr == nil {
			logStart = fi.Size()
		}
		if err = b.start(); err == nil {
			tb.Logf("PgBouncer %s (%s pooling) on %s in front of %s ready in %s", bin.version, poolMode(opts), b.Addr(), u.Host, time.Since(began).Round(time.Millisecond))
			return b
		}
		if log, _ := os.ReadFile(b.logPath()); !strings.Contains(string(log[min(logStart, int64(len(log))):]), "in use") {
			break
		}
	}
	tb.Fatalf("start pgbouncer: %v\n%s", err, tailFile(b.logPath(), 20))
	return nil
}

func poolMode(opts PgBouncerOptions) string {
	if opts.PoolMode == "" {
		return "transaction"
	}
	return opts.PoolMode
}

// iniSettings are the [databases] entry and the [pgbouncer] settings, in
// the order they are written.
func (b *PgBouncer) iniSettings(opts PgBouncerOptions) (database string, settings [][2]string) {
	port := b.upstream.Port()
	if port == "" {
		port = "5432"
	}
	database = fmt.Sprintf("host=%s port=%s", b.upstream.Hostname(), port)
	if p, ok := b.upstream.User.Password(); ok {
		database += " password=" + quoteLiteral(p)
	}
	authType := "trust"
	if opts.Password != "" {
		authType = "scram-sha-256"
	}
	poolSize, maxClients := opts.PoolSize, opts.MaxClientConn
	if poolSize <= 0 {
		poolSize = 5
	}
	if maxClients <= 0 {
		maxClients = 200
	}
	settings = [][2]string{
		{"listen_addr", "127.0.0.1"},
		{"listen_port", strconv.Itoa(b.port)},
		{"unix_socket_dir", ""},
		{"pidfile", ""},
		{"logfile", ""},
		{"auth_type", authType},
		{"auth_file", b.authPath()},
		{"admin_users", b.user()},
		{"pool_mode", poolMode(opts)},
		{"default_pool_size", strconv.Itoa(poolSize)},
		{"min_pool_size", "0"},
		{"reserve_pool_size", "0"},
		{"max_client_conn", strconv.Itoa(maxClients)},
		{"server_login_retry", "1"},
		{"server_connect_timeout", "5"},
		{"query_wait_timeout", "30"},
		{"log_connections", "0"},
		{"log_disconnections", "0"},
	}
	if b.bin.hasPreparedStatements() {
		// Written even when 0: from 1.24 on the default is 200.
		settings = append(settings, [2]string{"max_prepared_statements", strconv.Itoa(b.prepared)})
	}
	return database, append(settings, sortedSettings(opts.Settings)...)
}

func pgBouncerIni(database string, settings [][2]string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "[databases]\n* = %s\n\n[pgbouncer]\n", database)
	for _, kv := range settings {
		fmt.Fprintf(&s, "%s = %s\n", kv[0], kv[1])
	}
	return s.String()
}

// authFile lists the user, with the password clients must give (SCRAM
// works against a plain one); in trust mode the user must still be listed.
func authFile(user, password string) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return q(user) + " " + q(password) + "\n"
}

// URL is the upstream URL with PgBouncer's address (and Password, when
// set) in it: what the service is given as DATABASE_URL.
func (b *PgBouncer) URL() string {
	u := *b.upstream
	u.Host = b.Addr()
	if b.password != "" {
		u.User = url.UserPassword(b.user(), b.password)
	}
	return u.String()
}

// Addr is PgBouncer's host and port, 127.0.0.1:PORT.
func (b *PgBouncer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Version is the installed PgBouncer's version, such as "1.18.0".
func (b *PgBouncer) Version() string { return b.bin.version }

// MaxPreparedStatements is the max_prepared_statements it runs with: 0
// when not asked for, or when the installed PgBouncer predates the
// setting, so that named prepared statements do not survive a transaction.
func (b *PgBouncer) MaxPreparedStatements() int { return b.prepared }

// Dir is the directory of its ini file, auth_file and log.
func (b *PgBouncer) Dir() string { return b.dir }

// PID is the pgbouncer process id, 0 while stopped.
func (b *PgBouncer) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// Stop shuts PgBouncer down (SIGINT, its safe shutdown, then SIGKILL after
// five seconds), closing every client connection.
func (b *PgBouncer) Stop() { b.stop() }

// Start runs PgBouncer again on the same port.
func (b *PgBouncer) Start() {
	b.tb.Helper()
	if b.PID() != 0 {
		b.tb.Fatal("start pgbouncer: already running")
	}
	if err := b.start(); err != nil {
		b.tb.Fatalf("start pgbouncer: %v\n%s", err, tailFile(b.logPath(), 20))
	}
}

func (b *PgBouncer) user() string {
	if b.upstream.User != nil && b.upstream.User.Username() != "" {
		return b.upstream.User.Username()
	}
	return "postgres"
}

func (b *PgBouncer) iniPath() string  { return filepath.Join(b.dir, "pgbouncer.ini") }
func (b *PgBouncer) authPath() string { return filepath.Join(b.dir, "userlist.txt") }
func (b *PgBouncer) logPath() string  { return filepath.Join(b.dir, "pgbouncer.log") }

func (b *PgBouncer) start() error {
	logFile, err := os.OpenFile(b.logPath(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// In the foreground (no -d), so that it is our child and dies with us.
	cmd := b.bin.command(b.dir, b.bin.path, b.iniPath())
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			b.mu.Lock()
			b.cmd = nil
			b.mu.Unlock()
			return fmt.Errorf("pgbouncer exited at start-up (%v)", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return errors.New("pgbouncer did not listen within 30 seconds")
		}
	}
}

func (b *PgBouncer) stop() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// pgBouncerBinary is the installed pgbouncer and whom it runs as.
type pgBouncerBinary struct {
	path    string
	version string
	osUser
}

var (
	pgBouncerOnce sync.Once
	pgBouncerVal  *pgBouncerBinary
	pgBouncerErr  error
)

func pgBouncerTool(tb testing.TB) *pgBouncerBinary {
	tb.Helper()
	pgBouncerOnce.Do(func() { pgBouncerVal, pgBouncerErr = findPgBouncer() })
	if pgBouncerErr != nil {
		toolMissing(tb, "PgBouncer's binaries", "pgbouncer", pgBouncerErr)
	}
	return pgBouncerVal
}

func findPgBouncer() (*pgBouncerBinary, error) {
	path := "/usr/sbin/pgbouncer"
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("pgbouncer"); err != nil {
			return nil, errors.New("no /usr/sbin/pgbouncer and no pgbouncer on PATH")
		}
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %v: %s", path, err, out)
	}
	version, err := parsePgBouncerVersion(string(out))
	if err != nil {
		return nil, err
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	return &pgBouncerBinary{path: path, version: version, osUser: u}, nil
}

var pgBouncerVersionRE = regexp.MustCompile(`(?m)^PgBouncer (\d+\.\d+(?:\.\d+)?)`)

// parsePgBouncerVersion reads "PgBouncer 1.18.0" from pgbouncer --version.
func parsePgBouncerVersion(out string) (string, error) {
	m := pgBouncerVersionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no version in pgbouncer --version output %q", out)
	}
	return m[1], nil
}

// hasPreparedStatements tells whether this PgBouncer tracks protocol-level
// named prepared statements (max_prepared_statements, from 1.21 on).
func (p *pgBouncerBinary) hasPreparedStatements() bool { return !versionLess(p.version, "1.21") }

// preparedStatements is the max_prepared_statements this PgBouncer can run
// with when asked for n.
func (p *pgBouncerBinary) preparedStatements(n int) int {
	if !p.hasPreparedStatements() {
		return 0
	}
	return max(n, 0)
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
