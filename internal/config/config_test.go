package config_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"SERVICE_PORT", c.ServicePort, 8004},
		{"DATABASE_URL", c.Database.PostgresURL, ""},
		{"SQLITE_PATH", c.Database.SQLitePath, "./data/participant.db"},
		{"DATABASE_POOL_SIZE", c.Database.PoolSize, 20},
		{"DATABASE_POOL_TIMEOUT", c.Database.PoolTimeout.D(), 30 * time.Second},
		{"DATABASE_POOL_RECYCLE", c.Database.PoolRecycle.D(), time.Hour},
		{"MIGRATE_ON_START", c.Database.MigrateOnStart, true},
		{"DATABASE_READ_URL", c.Database.ReplicaURL, ""},
		{"DATABASE_READ_MAX_LAG", c.Database.ReplicaMaxLag.D(), 5 * time.Second},
		{"DATABASE_READ_CHECK_INTERVAL", c.Database.ReplicaCheckInterval.D(), time.Second},
		{"DATABASE_READ_POOL_SIZE", c.Database.ReplicaPoolSize, 10},
		{"REDIS_CACHE_TTL", c.Redis.CacheTTL.D(), 300 * time.Second},
		{"API_RATE_LIMIT", c.APIRateLimit, config.RateLimit{Requests: 1000, Period: time.Hour}},
		{"ENABLE_METRICS", c.EnableMetrics, true},
		{"METRICS_PORT", c.MetricsPort, 9090},
		{"CAPTCHA_TIMEOUT_MINUTES", c.Captcha.ChallengeTimeout.D(), 10 * time.Minute},
		{"CAPTCHA_MAX_ATTEMPTS", c.Captcha.MaxAttempts, 3},
		{"CAPTCHA_MIN_NUMBER", c.Captcha.MinNumber, 1},
		{"CAPTCHA_MAX_NUMBER", c.Captcha.MaxNumber, 10},
		{"MAX_WINNERS", c.MaxWinners, 1000},
		{"LIST_MAX_LIMIT", c.ListMaxLimit, 10000},
		{"TELEGRAM_API_BASE", c.Upstreams.TelegramAPIBase, "https://api.telegram.org"},
		{"giveaway checks", c.GiveawayChecks(), false},
		{"Addr", c.Addr(), ":8004"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestValuesFromTheEnvironment(t *testing.T) {
	c, err := config.Load([]string{
		"SERVICE_PORT=9000", "PORT=7000", "DATABASE_URL=postgres://u@db:5432/p", "DATABASE_POOL_TIMEOUT=2.5",
		"DATABASE_POOL_RECYCLE=10m", "API_RATE_LIMIT=50/minute", "CAPTCHA_TIMEOUT_MINUTES=2", "LOG_LEVEL=WARNING",
		"CORS_ORIGINS=https://a.example, https://b.example/", "TELEGIVE_GIVEAWAY_URL=http://giveaway:8003",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ServicePort != 7000 || c.Database.PostgresURL != "postgres://u@db:5432/p" || c.Database.PoolTimeout.D() != 2500*time.Millisecond ||
		c.Database.PoolRecycle.D() != 10*time.Minute || c.APIRateLimit != (config.RateLimit{Requests: 50, Period: time.Minute}) ||
		c.Captcha.ChallengeTimeout.D() != 2*time.Minute || c.LogLevel.Level().String() != "WARN" || !c.GiveawayChecks() ||
		strings.Join(c.CORSOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("config = %+v", c)
	}
}

// TestBadValuesNameTheVariable: start-up stops with a message naming the
// variable to fix.
func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"SERVICE_PORT=abc":                      "SERVICE_PORT",
		"SERVICE_PORT=70000":                    "SERVICE_PORT",
		"PORT=0x":                               "PORT",
		"DATABASE_POOL_SIZE=0":                  "DATABASE_POOL_SIZE",
		"DATABASE_POOL_SIZE=many":               "DATABASE_POOL_SIZE",
		"DATABASE_POOL_TIMEOUT=-3":              "DATABASE_POOL_TIMEOUT",
		"DATABASE_URL=mysql://x":                "DATABASE_URL",
		"REDIS_URL=http://x":                    "REDIS_URL",
		"REDIS_CACHE_TTL=soon":                  "REDIS_CACHE_TTL",
		"API_RATE_LIMIT=1000 per fortnight":     "API_RATE_LIMIT",
		"API_RATE_LIMIT=lots":                   "API_RATE_LIMIT",
		"ENABLE_METRICS=maybe":                  "ENABLE_METRICS",
		"METRICS_PORT=8004":                     "METRICS_PORT",
		"CAPTCHA_MAX_ATTEMPTS=0":                "CAPTCHA_MAX_ATTEMPTS",
		"CAPTCHA_MAX_NUMBER=1":                  "CAPTCHA_MAX_NUMBER",
		"CAPTCHA_TIMEOUT_MINUTES=x":             "CAPTCHA_TIMEOUT_MINUTES",
		"LOG_LEVEL=loud":                        "LOG_LEVEL",
		"MAX_WINNERS=-1":                        "MAX_WINNERS",
		"CORS_ORIGINS=example.com":              "CORS_ORIGINS",
		"CORS_ORIGINS=http:// /":                "CORS_ORIGINS",
		"CORS_ORIGINS=https://a.example/path":   "CORS_ORIGINS",
		"CORS_ORIGINS=https://user@a.example":   "CORS_ORIGINS",
		"TELEGIVE_AUTH_URL=auth:8001":           "TELEGIVE_AUTH_URL",
		"REQUIRE_SUBSCRIPTION=true":             "REQUIRE_SUBSCRIPTION",
		"TELEGRAM_API_BASE=ftp://api.telegram":  "TELEGRAM_API_BASE",
		"MIGRATE_ON_START=perhaps":              "MIGRATE_ON_START",
		"DATABASE_POOL_RECYCLE=0":               "DATABASE_POOL_RECYCLE",
		"CAPTCHA_MAX_CHALLENGES_PER_HOUR=0":     "CAPTCHA_MAX_CHALLENGES_PER_HOUR",
		"MAX_REQUEST_BODY_BYTES=10":             "MAX_REQUEST_BODY_BYTES",
		"LOG_FORMAT=xml":                        "LOG_FORMAT",
		"HTTP_WRITE_TIMEOUT=never":              "HTTP_WRITE_TIMEOUT",
		"CAPTCHA_MIN_NUMBER=0":                  "CAPTCHA_MIN_NUMBER",
		"EXPORT_BATCH_SIZE=0":                   "EXPORT_BATCH_SIZE",
		"LIST_MAX_LIMIT=0":                      "LIST_MAX_LIMIT",
		"UPSTREAM_TIMEOUT=0":                    "UPSTREAM_TIMEOUT",
		"HEALTH_CHECK_TIMEOUT=0":                "HEALTH_CHECK_TIMEOUT",
		"SHUTDOWN_TIMEOUT=0":                    "SHUTDOWN_TIMEOUT",
		"TELEGIVE_GIVEAWAY_URL=http://":         "TELEGIVE_GIVEAWAY_URL",
		"DRAW_TIMEOUT=0":                        "DRAW_TIMEOUT",
		"REQUEST_TIMEOUT=0":                     "REQUEST_TIMEOUT",
		"REQUEST_TIMEOUT=30":                    "REQUEST_TIMEOUT",
		"HTTP_READ_HEADER_TIMEOUT=0":            "HTTP_READ_HEADER_TIMEOUT",
		"TELEGIVE_CHANNEL_URL=//no-scheme:8000": "TELEGIVE_CHANNEL_URL",
	}
	for env, variable := range cases {
		t.Run(env, func(t *testing.T) {
			_, err := config.Load([]string{env})
			if err == nil {
				t.Fatalf("%s was accepted", env)
			}
			if !strings.Contains(err.Error(), variable) {
				t.Fatalf("error %q does not name %s", err, variable)
			}
		})
	}
}

// Wanted values, as refusals spell them.
const (
	wantPort    = "want a port number 1..65535"
	wantSeconds = "want seconds (a number) or a Go duration such as 90s, above 0"
	wantMinutes = "want minutes (a number) or a Go duration such as 10m, above 0"
	wantBool    = "want true or false"
	wantRate    = `want a budget such as "100 per second": a whole number above 0 per second, minute, hour or day`
	wantAtLeast = "want a whole number, at least 1"
)

// TestUnreadableValuesSayWhatIsWanted: every setting that is not plain text
// refuses a value it cannot read with the variable, the value quoted, and
// what it wants, never the parser's own words.
func TestUnreadableValuesSayWhatIsWanted(t *testing.T) {
	cases := []struct{ variable, value, want string }{
		{"SERVICE_PORT", "abc", wantPort},
		{"PORT", "0x", wantPort},
		{"METRICS_PORT", "9090.5", wantPort},
		{"MAX_REQUEST_BODY_BYTES", "1MB", "want a whole number of bytes, at least 1024"},
		{"MAX_IN_FLIGHT", "unbounded", "want a whole number, 0 (no bound) or more"},
		{"HTTP_MAX_CONNECTIONS", "many", "want a whole number, 0 (no bound) or more"},
		{"MAX_IN_FLIGHT_WAIT", "a moment", "want seconds (a number) or a Go duration such as 20ms, 0 or more, below REQUEST_TIMEOUT"},
		{"LIST_MAX_LIMIT", "1e4", wantAtLeast},
		{"MAX_WINNERS", "many", wantAtLeast},
		{"EXPORT_BATCH_SIZE", "5k", "want a whole number 1..100000"},
		{"CAPTCHA_MAX_ATTEMPTS", "three", "want a whole number 1..100"},
		{"CAPTCHA_MIN_NUMBER", "one", wantAtLeast},
		{"CAPTCHA_MAX_NUMBER", "ten", "want a whole number above CAPTCHA_MIN_NUMBER, at most 1000"},
		{"CAPTCHA_MAX_CHALLENGES_PER_HOUR", "5/h", wantAtLeast},
		{"DATABASE_POOL_SIZE", "lots", wantAtLeast},
		{"REDIS_POOL_SIZE", "default", "want a whole number, 0 (the go-redis default) or more"},
		{"UPSTREAM_RETRIES", "twice", "want a whole number 0..10"},
		{"UPSTREAM_BREAKER_FAILURES", "5x", wantAtLeast},
		{"MEMORY_LIMIT_RATIO", "90%", "want a number 0..1 (0 disables)"},
		{"HTTP_READ_HEADER_TIMEOUT", "5 s", wantSeconds},
		{"HTTP_READ_TIMEOUT", "x", wantSeconds},
		{"HTTP_WRITE_TIMEOUT", "never", wantSeconds},
		{"HTTP_IDLE_TIMEOUT", "-1", wantSeconds},
		{"REQUEST_TIMEOUT", "8 seconds", wantSeconds},
		{"SHUTDOWN_DELAY", "-5", "want seconds (a number) or a Go duration such as 90s, 0 or more"},
		{"SHUTDOWN_TIMEOUT", "NaN", wantSeconds},
		{"UPSTREAM_TIMEOUT", "3sec", wantSeconds},
		{"HEALTH_CHECK_TIMEOUT", "Inf", wantSeconds},
		{"DRAW_TIMEOUT", "5min", wantSeconds},
		{"CLEANUP_INTERVAL", "hourly", wantSeconds},
		{"SIGNATURE_WINDOW", "1e300", wantSeconds},
		{"DATABASE_POOL_TIMEOUT", "-3", wantSeconds},
		{"DATABASE_POOL_RECYCLE", "1d", wantSeconds},
		{"DATABASE_READ_TIMEOUT", "long", wantSeconds},
		{"DATABASE_READ_MAX_LAG", "5 s", wantSeconds},
		{"DATABASE_READ_CHECK_INTERVAL", "often", wantSeconds},
		{"DATABASE_READ_POOL_SIZE", "few", wantAtLeast},
		{"REDIS_TIMEOUT", "x", wantSeconds},
		{"REDIS_CACHE_TTL", "soon", wantSeconds},
		{"UPSTREAM_BREAKER_OPEN", "30ss", wantSeconds},
		{"UPSTREAM_PROBE_INTERVAL", "often", wantSeconds},
		{"CAPTCHA_TIMEOUT_MINUTES", "x", wantMinutes},
		{"API_RATE_LIMIT", "1000 per fortnight", wantRate},
		{"USER_RATE_LIMIT", "lots", wantRate},
		{"PUBLIC_RATE_LIMIT", "0 per minute", wantRate},
		{"REQUIRE_SUBSCRIPTION", "yes", wantBool},
		{"ENABLE_METRICS", "maybe", wantBool},
		{"PPROF_ENABLED", "on", wantBool},
		{"HTTPS_ONLY", "always", wantBool},
		{"OTEL_SDK_DISABLED", "disabled", wantBool},
		{"REQUIRE_SIGNATURES", "y", wantBool},
		{"MIGRATE_ON_START", "perhaps", wantBool},
		{"REDIS_CLUSTER", "no", wantBool},
		{"REDIS_REQUIRED", "2", wantBool},
		{"LOG_LEVEL", "loud", "want debug, info, warn or error"},
		{"BEACON_DELAY", "soon", "want whole seconds, at least one beacon period (3 s on quicknet)"},
		{"BEACON_TIMEOUT", "3 s", wantSeconds},
		{"BEACON_WAIT", "long", wantSeconds},
		{"WITNESS_TIMEOUT", "5sec", wantSeconds},
		{"WITNESS_QUORUM", "half", "want all, or a whole number from 1 to the number of WITNESS_URLS"},
		{"LOG_CHECKPOINT_INTERVAL", "often", wantSeconds},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.variable] = true
		t.Run(c.variable+"="+c.value, func(t *testing.T) {
			_, err := config.Load([]string{c.variable + "=" + c.value})
			if err == nil {
				t.Fatalf("%s=%q was accepted", c.variable, c.value)
			}
			if want := fmt.Sprintf("%s=%q: %s", c.variable, c.value, c.want); err.Error() != want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, want)
			}
		})
	}
	for _, v := range config.TypedVariables() {
		if !covered[v] {
			t.Errorf("%s has no case here", v)
		}
	}
}

// TestOutOfRangeValuesSayWhatIsWanted: a value that reads but is out of
// range is refused in the same words as one that does not read, naming the
// other setting when the range depends on it.
func TestOutOfRangeValuesSayWhatIsWanted(t *testing.T) {
	cases := []struct{ variable, value, want string }{
		{"SERVICE_PORT", "70000", wantPort},
		{"PORT", "-1", wantPort},
		{"METRICS_PORT", "0", wantPort},
		{"METRICS_PORT", "8004", "want a port other than the API port (SERVICE_PORT=8004)"},
		{"MAX_REQUEST_BODY_BYTES", "10", "want a whole number of bytes, at least 1024"},
		{"MAX_IN_FLIGHT", "-1", "want a whole number, 0 (no bound) or more"},
		{"HTTP_MAX_CONNECTIONS", "-1", "want a whole number, 0 (no bound) or more"},
		{"MAX_IN_FLIGHT_WAIT", "-0.1", "want seconds (a number) or a Go duration such as 20ms, 0 or more, below REQUEST_TIMEOUT"},
		{"MAX_IN_FLIGHT_WAIT", "8", "want seconds (a number) or a Go duration such as 20ms, 0 or more, below REQUEST_TIMEOUT (8s)"},
		{"LIST_MAX_LIMIT", "0", wantAtLeast},
		{"MAX_WINNERS", "-1", wantAtLeast},
		{"EXPORT_BATCH_SIZE", "100001", "want a whole number 1..100000"},
		{"CAPTCHA_MAX_ATTEMPTS", "101", "want a whole number 1..100"},
		{"CAPTCHA_MIN_NUMBER", "0", wantAtLeast},
		{"CAPTCHA_MAX_NUMBER", "1", "want a whole number above CAPTCHA_MIN_NUMBER (1), at most 1000"},
		{"CAPTCHA_MAX_NUMBER", "1001", "want a whole number above CAPTCHA_MIN_NUMBER (1), at most 1000"},
		{"CAPTCHA_MAX_CHALLENGES_PER_HOUR", "0", wantAtLeast},
		{"DATABASE_POOL_SIZE", "0", wantAtLeast},
		{"REDIS_POOL_SIZE", "-1", "want a whole number, 0 (the go-redis default) or more"},
		{"UPSTREAM_RETRIES", "11", "want a whole number 0..10"},
		{"UPSTREAM_BREAKER_FAILURES", "0", wantAtLeast},
		{"MEMORY_LIMIT_RATIO", "1.5", "want a number 0..1 (0 disables)"},
		{"HTTP_READ_HEADER_TIMEOUT", "0", wantSeconds},
		{"HTTP_READ_TIMEOUT", "0s", wantSeconds},
		{"HTTP_WRITE_TIMEOUT", "0", wantSeconds},
		{"HTTP_IDLE_TIMEOUT", "0", wantSeconds},
		{"REQUEST_TIMEOUT", "0", wantSeconds + ", below HTTP_WRITE_TIMEOUT (30s) so the answer can still be written"},
		{"REQUEST_TIMEOUT", "30", wantSeconds + ", below HTTP_WRITE_TIMEOUT (30s) so the answer can still be written"},
		{"SHUTDOWN_TIMEOUT", "0", wantSeconds},
		{"UPSTREAM_TIMEOUT", "0", wantSeconds},
		{"HEALTH_CHECK_TIMEOUT", "0", wantSeconds},
		{"DRAW_TIMEOUT", "0", wantSeconds},
		{"CLEANUP_INTERVAL", "0", wantSeconds},
		{"SIGNATURE_WINDOW", "0", wantSeconds},
		{"DATABASE_POOL_TIMEOUT", "0", wantSeconds},
		{"DATABASE_POOL_RECYCLE", "0", wantSeconds},
		{"DATABASE_READ_TIMEOUT", "0", wantSeconds},
		{"DATABASE_READ_MAX_LAG", "0", wantSeconds},
		{"DATABASE_READ_POOL_SIZE", "0", wantAtLeast},
		{"DATABASE_READ_CHECK_INTERVAL", "0", wantSeconds + ", below DATABASE_READ_MAX_LAG (5s)"},
		{"DATABASE_READ_CHECK_INTERVAL", "5", wantSeconds + ", below DATABASE_READ_MAX_LAG (5s)"},
		{"REDIS_TIMEOUT", "0", wantSeconds},
		{"UPSTREAM_BREAKER_OPEN", "0", wantSeconds},
		{"UPSTREAM_PROBE_INTERVAL", "0", wantSeconds},
		{"CAPTCHA_TIMEOUT_MINUTES", "0", wantMinutes},
		// Text settings with a fixed set of values are refused the same way.
		{"LOG_FORMAT", "xml", "want json or text"},
		{"AUTH_MODE", "strict", "want required, permissive or off"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", "want grpc or http/protobuf"},
	}
	for _, c := range cases {
		t.Run(c.variable+"="+c.value, func(t *testing.T) {
			_, err := config.Load([]string{c.variable + "=" + c.value})
			if err == nil {
				t.Fatalf("%s=%q was accepted", c.variable, c.value)
			}
			if want := fmt.Sprintf("%s=%q: %s", c.variable, c.value, c.want); err.Error() != want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, want)
			}
		})
	}
}

// TestLoadDatabaseReadsTheDatabaseAlone: a tool that only opens the
// database reads its settings with the service's defaults and refusals,
// and is not stopped by the service's other settings.
func TestLoadDatabaseReadsTheDatabaseAlone(t *testing.T) {
	db, err := config.LoadDatabase(nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.PostgresURL != "" || db.SQLitePath != "./data/participant.db" || db.PoolSize != 20 || db.ReadTimeout.D() != 300*time.Second || !db.MigrateOnStart {
		t.Fatalf("defaults = %+v", db)
	}
	db, err = config.LoadDatabase([]string{"DATABASE_URL=postgres://u@db:5432/p", "SQLITE_PATH=", "DATABASE_READ_TIMEOUT=1m",
		"SERVICE_PORT=abc", "CAPTCHA_MAX_NUMBER=0"})
	if err != nil {
		t.Fatalf("other settings stopped it: %v", err)
	}
	if db.PostgresURL != "postgres://u@db:5432/p" || db.SQLitePath != "./data/participant.db" || db.ReadTimeout.D() != time.Minute {
		t.Fatalf("database = %+v", db)
	}
	for env, want := range map[string]string{
		"DATABASE_URL=mysql://x":      "DATABASE_URL: must be a postgres:// or postgresql:// URL",
		"DATABASE_POOL_SIZE=lots":     `DATABASE_POOL_SIZE="lots": ` + wantAtLeast,
		"DATABASE_POOL_SIZE=0":        `DATABASE_POOL_SIZE="0": ` + wantAtLeast,
		"DATABASE_READ_TIMEOUT=never": `DATABASE_READ_TIMEOUT="never": ` + wantSeconds,
	} {
		if _, err := config.LoadDatabase([]string{env}); err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %s", env, err, want)
		}
	}
}

// TestReadReplica: DATABASE_READ_URL and its lag bound are read with the
// database settings, and a read URL is refused unless it is a Postgres URL
// beside DATABASE_URL, without quoting it (it may hold a password).
func TestReadReplica(t *testing.T) {
	c, err := config.Load([]string{"DATABASE_URL=postgres://u@db-rw:5432/p", "DATABASE_READ_URL=postgresql://u:secret@db-ro:5432/p",
		"DATABASE_READ_MAX_LAG=2.5", "DATABASE_READ_CHECK_INTERVAL=500ms"})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Database; d.ReplicaURL != "postgresql://u:secret@db-ro:5432/p" || d.ReplicaMaxLag.D() != 2500*time.Millisecond ||
		d.ReplicaCheckInterval.D() != 500*time.Millisecond {
		t.Fatalf("database = %+v", d)
	}
	db, err := config.LoadDatabase([]string{"DATABASE_URL=postgres://u@db-rw:5432/p", "DATABASE_READ_URL=postgres://u@db-ro:5432/p"})
	if err != nil || db.ReplicaURL != "postgres://u@db-ro:5432/p" || db.ReplicaMaxLag.D() != 5*time.Second {
		t.Fatalf("LoadDatabase = %+v, %v", db, err)
	}
	for name, env := range map[string][]string{
		"not postgres": {"DATABASE_URL=postgres://u@db-rw/p", "DATABASE_READ_URL=mysql://u:secret@db-ro/p"},
		"no primary":   {"DATABASE_READ_URL=postgres://u:secret@db-ro/p"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(env)
			if err == nil {
				t.Fatalf("%v was accepted", env)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "DATABASE_READ_URL: ") || strings.Contains(msg, "secret") {
				t.Fatalf("error %q: want DATABASE_READ_URL named and its URL not quoted", msg)
			}
		})
	}
}

// TestLoadCtl: participantctl's client commands read their token from
// PARTICIPANT_SERVICE_TOKEN.
func TestLoadCtl(t *testing.T) {
	ctl, err := config.LoadCtl([]string{"PARTICIPANT_SERVICE_TOKEN=t0k3n", "SERVICE_PORT=abc"})
	if err != nil || ctl.ServiceToken != "t0k3n" {
		t.Fatalf("LoadCtl = %+v, %v", ctl, err)
	}
	if ctl, err := config.LoadCtl(nil); err != nil || ctl.ServiceToken != "" {
		t.Fatalf("LoadCtl(nil) = %+v, %v", ctl, err)
	}
}
