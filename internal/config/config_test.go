package config_test

import (
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
		{"REDIS_CACHE_TTL", c.Redis.CacheTTL.D(), 300 * time.Second},
		{"API_RATE_LIMIT", c.APIRateLimit, config.RateLimit{Requests: 1000, Period: time.Hour}},
		{"ENABLE_METRICS", c.EnableMetrics, true},
		{"METRICS_PORT", c.MetricsPort, 9090},
		{"CAPTCHA_TIMEOUT_MINUTES", c.CaptchaTimeout.D(), 10 * time.Minute},
		{"CAPTCHA_MAX_ATTEMPTS", c.CaptchaMaxAttempts, 3},
		{"CAPTCHA_MIN_NUMBER", c.CaptchaMinNumber, 1},
		{"CAPTCHA_MAX_NUMBER", c.CaptchaMaxNumber, 10},
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
		c.CaptchaTimeout.D() != 2*time.Minute || c.LogLevel.Level().String() != "WARN" || !c.GiveawayChecks() ||
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
