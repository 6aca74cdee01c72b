package testenv

import (
	"net/url"
	"strings"
	"testing"
)

func TestParsePgBouncerVersion(t *testing.T) {
	for _, tc := range []struct {
		out, want string
		prepared  bool
	}{
		{"PgBouncer 1.18.0\nlibevent 2.1.12-stable\nadns: c-ares 1.18.1\n", "1.18.0", false},
		{"PgBouncer 1.20.1\n", "1.20.1", false},
		{"PgBouncer 1.21.0\n", "1.21.0", true},
		{"PgBouncer 1.24.1\nlibevent 2.1.12-stable\n", "1.24.1", true},
		{"PgBouncer 2.0\n", "2.0", true},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got, err := parsePgBouncerVersion(tc.out)
			if err != nil || got != tc.want {
				t.Fatalf("parsePgBouncerVersion = %q, %v; want %q", got, err, tc.want)
			}
			if p := (&pgBouncerBinary{version: got}).hasPreparedStatements(); p != tc.prepared {
				t.Errorf("hasPreparedStatements(%s) = %v, want %v", got, p, tc.prepared)
			}
		})
	}
	if v, err := parsePgBouncerVersion("pgbouncer: unknown option\n"); err == nil {
		t.Errorf("parsePgBouncerVersion of no version = %q, want an error", v)
	}
}

func TestPgBouncerIni(t *testing.T) {
	upstream, _ := url.Parse("postgres://app:up%20pw@127.0.0.1:5544/app?sslmode=disable")
	for _, tc := range []struct {
		name, version string
		opts          PgBouncerOptions
		want, absent  []string
	}{{
		name: "1.18 trust", version: "1.18.0",
		opts: PgBouncerOptions{MaxPreparedStatements: 100},
		want: []string{
			"* = host=127.0.0.1 port=5544 password='up pw'\n",
			"auth_type = trust\n", "pool_mode = transaction\n", "default_pool_size = 5\n",
			"max_client_conn = 200\n", "listen_port = 6543\n", "admin_users = app\n", "server_login_retry = 1\n",
		},
		absent: []string{"max_prepared_statements"},
	}, {
		name: "1.21 password", version: "1.21.0",
		opts: PgBouncerOptions{Password: "pw", PoolMode: "session", PoolSize: 2, MaxClientConn: 10, Settings: map[string]string{"query_wait_timeout": "3"}},
		want: []string{
			"auth_type = scram-sha-256\n", "pool_mode = session\n", "default_pool_size = 2\n", "max_client_conn = 10\n",
			// Written even when not asked for, since 1.24's default is 200.
			"max_prepared_statements = 0\n",
			// The option comes after the default and so wins.
			"query_wait_timeout = 30\nlog_connections = 0\nlog_disconnections = 0\nmax_prepared_statements = 0\nquery_wait_timeout = 3\n",
		},
	}, {
		name: "1.24 prepared", version: "1.24.1",
		opts: PgBouncerOptions{MaxPreparedStatements: 100},
		want: []string{"max_prepared_statements = 100\n"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			bin := &pgBouncerBinary{version: tc.version}
			b := &PgBouncer{bin: bin, dir: "/d", upstream: upstream, port: 6543, prepared: bin.preparedStatements(tc.opts.MaxPreparedStatements)}
			ini := pgBouncerIni(b.iniSettings(tc.opts))
			if !strings.HasPrefix(ini, "[databases]\n") || !strings.Contains(ini, "\n[pgbouncer]\n") {
				t.Errorf("ini lacks its sections:\n%s", ini)
			}
			for _, w := range tc.want {
				if !strings.Contains(ini, w) {
					t.Errorf("ini lacks %q:\n%s", w, ini)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(ini, a) {
					t.Errorf("ini has %q:\n%s", a, ini)
				}
			}
		})
	}
}

func TestAuthFile(t *testing.T) {
	if got, want := authFile("postgres", ""), "\"postgres\" \"\"\n"; got != want {
		t.Errorf("trust auth_file = %q, want %q", got, want)
	}
	if got, want := authFile("app", `p"w`), "\"app\" \"p\"\"w\"\n"; got != want {
		t.Errorf("auth_file with a quote = %q, want %q", got, want)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"9.6", "15", true}, {"15", "9.6", false}, {"15", "16", true},
		{"1.18.0", "1.21", true}, {"1.21.0", "1.21", false}, {"1.21", "1.21", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
