// Package config loads the service's settings from the environment into one
// typed struct. It is the only place that knows variable names; nothing else
// in the service reads the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/caarlos0/env/v11"
)

// Config is every setting of the service. Field tags name the environment
// variables that existing deployments of the participant service already use.
type Config struct {
	// HTTP server.
	ServicePort         int       `env:"SERVICE_PORT" envDefault:"8004"`
	Port                int       `env:"PORT"` // overrides SERVICE_PORT, as platforms such as Heroku set it
	ListenHost          string    `env:"LISTEN_HOST"`
	MaxRequestBodyBytes int64     `env:"MAX_REQUEST_BODY_BYTES" envDefault:"1048576"`
	MaxInFlight         int       `env:"MAX_IN_FLIGHT" envDefault:"1000"`
	ReadHeaderTimeout   Seconds   `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5"`
	ReadTimeout         Seconds   `env:"HTTP_READ_TIMEOUT" envDefault:"15"`
	WriteTimeout        Seconds   `env:"HTTP_WRITE_TIMEOUT" envDefault:"30"`
	RequestTimeout      Seconds   `env:"REQUEST_TIMEOUT" envDefault:"8"`
	IdleTimeout         Seconds   `env:"HTTP_IDLE_TIMEOUT" envDefault:"120"`
	ShutdownDelay       Seconds   `env:"SHUTDOWN_DELAY" envDefault:"5"`
	ShutdownTimeout     Seconds   `env:"SHUTDOWN_TIMEOUT" envDefault:"20"`
	CORSOrigins         []string  `env:"CORS_ORIGINS" envSeparator:","`
	LogLevel            LogLevel  `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat           string    `env:"LOG_FORMAT" envDefault:"json"`
	ServiceName         string    `env:"SERVICE_NAME" envDefault:"participant-service"`
	UpstreamTimeout     Seconds   `env:"UPSTREAM_TIMEOUT" envDefault:"3"`
	HealthCheckTimeout  Seconds   `env:"HEALTH_CHECK_TIMEOUT" envDefault:"1"`
	ListMaxLimit        int       `env:"LIST_MAX_LIMIT" envDefault:"10000"`
	MaxWinners          int       `env:"MAX_WINNERS" envDefault:"1000"`
	RequireSubscription bool      `env:"REQUIRE_SUBSCRIPTION" envDefault:"false"`
	APIRateLimit        RateLimit `env:"API_RATE_LIMIT" envDefault:"1000 per hour"`
	DrawTimeout         Seconds   `env:"DRAW_TIMEOUT" envDefault:"300"`
	ExportBatchSize     int       `env:"EXPORT_BATCH_SIZE" envDefault:"5000"`
	CaptchaTimeout      Minutes   `env:"CAPTCHA_TIMEOUT_MINUTES" envDefault:"10"`
	CaptchaMaxAttempts  int       `env:"CAPTCHA_MAX_ATTEMPTS" envDefault:"3"`
	CaptchaMinNumber    int       `env:"CAPTCHA_MIN_NUMBER" envDefault:"1"`
	CaptchaMaxNumber    int       `env:"CAPTCHA_MAX_NUMBER" envDefault:"10"`
	CaptchaPerHour      int       `env:"CAPTCHA_MAX_CHALLENGES_PER_HOUR" envDefault:"5"`
	EnableMetrics       bool      `env:"ENABLE_METRICS" envDefault:"true"`
	PprofEnabled        bool      `env:"PPROF_ENABLED" envDefault:"false"`
	MemoryLimitRatio    float64   `env:"MEMORY_LIMIT_RATIO" envDefault:"0.9"`
	MetricsPort         int       `env:"METRICS_PORT" envDefault:"9090"`
	UserRateLimit       RateLimit `env:"USER_RATE_LIMIT" envDefault:"30 per minute"`
	PublicRateLimit     RateLimit `env:"PUBLIC_RATE_LIMIT" envDefault:"600 per minute"`
	HTTPSOnly           bool      `env:"HTTPS_ONLY" envDefault:"false"`
	TrustedProxies      []string  `env:"TRUSTED_PROXIES" envSeparator:","`
	CleanupInterval     Seconds   `env:"CLEANUP_INTERVAL" envDefault:"300"`
	Database            Database
	Redis               Redis
	Upstreams           Upstreams
	Auth                Auth
	Tracing             Tracing
}

// Tracing holds the standard OpenTelemetry variables this service looks at
// to decide whether to export traces; the OTLP exporter reads the others
// (headers, certificates, timeouts, sampler) itself.
type Tracing struct {
	Endpoint       string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	TracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	Protocol       string `env:"OTEL_EXPORTER_OTLP_PROTOCOL" envDefault:"http/protobuf"`
	Disabled       bool   `env:"OTEL_SDK_DISABLED" envDefault:"false"`
}

// Enabled reports whether traces are exported: an OTLP endpoint is set and
// the SDK is not disabled.
func (t Tracing) Enabled() bool {
	return !t.Disabled && (t.Endpoint != "" || t.TracesEndpoint != "")
}

// Auth holds inbound authentication. Tokens come as name:token pairs; the
// name is the caller (bot, giveaway or admin) and decides its scopes.
type Auth struct {
	// Mode is required, permissive or off; empty means required when any
	// token is configured and permissive otherwise.
	Mode              string  `env:"AUTH_MODE"`
	Tokens            string  `env:"SERVICE_TOKENS"`
	TokensFile        string  `env:"SERVICE_TOKENS_FILE"`
	LegacySecret      string  `env:"SERVICE_TO_SERVICE_SECRET"`
	RequireSignatures bool    `env:"REQUIRE_SIGNATURES" envDefault:"false"`
	SignatureWindow   Seconds `env:"SIGNATURE_WINDOW" envDefault:"300"`
}

// Database holds the storage settings. An empty URL selects the embedded
// SQLite database in SQLitePath.
type Database struct {
	PostgresURL     string  `env:"DATABASE_URL"`
	SQLitePath      string  `env:"SQLITE_PATH" envDefault:"./data/participant.db"`
	PoolSize        int     `env:"DATABASE_POOL_SIZE" envDefault:"20"`
	PoolTimeout     Seconds `env:"DATABASE_POOL_TIMEOUT" envDefault:"30"`
	PoolRecycle     Seconds `env:"DATABASE_POOL_RECYCLE" envDefault:"3600"`
	ResponseTimeout Seconds `env:"DATABASE_READ_TIMEOUT" envDefault:"300"`
	MigrateOnStart  bool    `env:"MIGRATE_ON_START" envDefault:"true"`
}

// Redis holds the cache and rate-limit store settings. An empty URL selects
// the in-process equivalents.
type Redis struct {
	URL        string   `env:"REDIS_URL"`
	Addrs      []string `env:"REDIS_ADDRS" envSeparator:","`
	MasterName string   `env:"REDIS_MASTER_NAME"`
	Cluster    bool     `env:"REDIS_CLUSTER" envDefault:"false"`
	Required   bool     `env:"REDIS_REQUIRED" envDefault:"false"`
	Timeout    Seconds  `env:"REDIS_TIMEOUT" envDefault:"0.5"`
	Pool       int      `env:"REDIS_POOL_SIZE" envDefault:"0"`
	CacheTTL   Seconds  `env:"REDIS_CACHE_TTL" envDefault:"300"`
	KeyPrefix  string   `env:"REDIS_KEY_PREFIX" envDefault:"participant-service:"`
}

// Upstreams holds the base URLs of the services this one calls. An empty URL
// switches the matching check off.
type Upstreams struct {
	AuthURL         string `env:"TELEGIVE_AUTH_URL"`
	ChannelURL      string `env:"TELEGIVE_CHANNEL_URL"`
	GiveawayURL     string `env:"TELEGIVE_GIVEAWAY_URL"`
	BotURL          string `env:"TELEGIVE_BOT_URL"`
	MediaURL        string `env:"TELEGIVE_MEDIA_URL"`
	TelegramAPIBase string `env:"TELEGRAM_API_BASE" envDefault:"https://api.telegram.org"`
	// ServiceToken is sent as X-Service-Token to the Telegive services.
	ServiceToken    string  `env:"AUTH_SERVICE_TOKEN"`
	Retries         int     `env:"UPSTREAM_RETRIES" envDefault:"2"`
	BreakerFailures int     `env:"UPSTREAM_BREAKER_FAILURES" envDefault:"5"`
	BreakerOpen     Seconds `env:"UPSTREAM_BREAKER_OPEN" envDefault:"30"`
	ProbeInterval   Seconds `env:"UPSTREAM_PROBE_INTERVAL" envDefault:"30"`
}

// Load reads the configuration from environ, a list of KEY=value strings as
// os.Environ returns. A value that cannot be parsed or is out of range is an
// error naming the variable.
func Load(environ []string) (Config, error) {
	var cfg Config
	opts := env.Options{Environment: env.ToMap(environ)}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		return Config{}, explain(err)
	}
	if cfg.Port != 0 {
		cfg.ServicePort = cfg.Port
	}
	cfg.CORSOrigins = trimAll(cfg.CORSOrigins)
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Addr is the listen address of the API server.
func (c Config) Addr() string {
	return fmt.Sprintf("%s:%d", c.ListenHost, c.ServicePort)
}

// MetricsAddr is the listen address of the metrics server.
func (c Config) MetricsAddr() string {
	return fmt.Sprintf("%s:%d", c.ListenHost, c.MetricsPort)
}

// GiveawayChecks reports whether giveaway status is checked upstream.
func (c Config) GiveawayChecks() bool { return c.Upstreams.GiveawayURL != "" }

// SubscriptionLookups reports whether subscriptions can be looked up: the
// channel and auth services and the Telegram API are all configured.
func (c Config) SubscriptionLookups() bool {
	u := c.Upstreams
	return u.ChannelURL != "" && u.AuthURL != "" && u.TelegramAPIBase != ""
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, variable, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
		}
	}
	check(validPort(c.ServicePort), portVar(c), "must be a port number in 1..65535, got %d", c.ServicePort)
	check(validPort(c.MetricsPort), "METRICS_PORT", "must be a port number in 1..65535, got %d", c.MetricsPort)
	check(!c.EnableMetrics || c.MetricsPort != c.ServicePort, "METRICS_PORT", "must differ from the API port %d", c.ServicePort)
	check(c.MaxInFlight >= 0, "MAX_IN_FLIGHT", "must be 0 (no bound) or more, got %d", c.MaxInFlight)
	check(c.MaxRequestBodyBytes >= 1024, "MAX_REQUEST_BODY_BYTES", "must be at least 1024, got %d", c.MaxRequestBodyBytes)
	check(c.LogFormat == "json" || c.LogFormat == "text", "LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	check(c.ListMaxLimit >= 1, "LIST_MAX_LIMIT", "must be at least 1, got %d", c.ListMaxLimit)
	check(c.MaxWinners >= 1, "MAX_WINNERS", "must be at least 1, got %d", c.MaxWinners)
	check(c.ExportBatchSize >= 1 && c.ExportBatchSize <= 100000, "EXPORT_BATCH_SIZE", "must be in 1..100000, got %d", c.ExportBatchSize)
	check(c.CaptchaMaxAttempts >= 1 && c.CaptchaMaxAttempts <= 100, "CAPTCHA_MAX_ATTEMPTS", "must be in 1..100, got %d", c.CaptchaMaxAttempts)
	check(c.CaptchaMinNumber >= 1, "CAPTCHA_MIN_NUMBER", "must be at least 1, got %d", c.CaptchaMinNumber)
	check(c.CaptchaMaxNumber > c.CaptchaMinNumber && c.CaptchaMaxNumber <= 1000, "CAPTCHA_MAX_NUMBER",
		"must be greater than CAPTCHA_MIN_NUMBER (%d) and at most 1000, got %d", c.CaptchaMinNumber, c.CaptchaMaxNumber)
	check(c.CaptchaPerHour >= 1, "CAPTCHA_MAX_CHALLENGES_PER_HOUR", "must be at least 1, got %d", c.CaptchaPerHour)
	check(c.CaptchaTimeout > 0, "CAPTCHA_TIMEOUT_MINUTES", "must be positive")
	check(c.Database.PoolSize >= 1, "DATABASE_POOL_SIZE", "must be at least 1, got %d", c.Database.PoolSize)
	check(c.Database.PoolTimeout > 0, "DATABASE_POOL_TIMEOUT", "must be positive")
	check(c.Database.PoolRecycle > 0, "DATABASE_POOL_RECYCLE", "must be positive")
	check(c.Database.ResponseTimeout > 0, "DATABASE_READ_TIMEOUT", "must be positive")
	check(c.Database.PostgresURL != "" || c.Database.SQLitePath != "", "SQLITE_PATH", "must not be empty when DATABASE_URL is unset")
	if c.Database.PostgresURL != "" {
		u, err := url.Parse(c.Database.PostgresURL)
		check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "DATABASE_URL",
			"must be a postgres:// or postgresql:// URL")
	}
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		check(err == nil && (u.Scheme == "redis" || u.Scheme == "rediss" || u.Scheme == "unix"), "REDIS_URL",
			"must be a redis://, rediss:// or unix:// URL")
	}
	check(c.ReadHeaderTimeout > 0, "HTTP_READ_HEADER_TIMEOUT", "must be positive")
	check(c.ReadTimeout > 0, "HTTP_READ_TIMEOUT", "must be positive")
	check(c.WriteTimeout > 0, "HTTP_WRITE_TIMEOUT", "must be positive")
	check(c.IdleTimeout > 0, "HTTP_IDLE_TIMEOUT", "must be positive")
	check(c.ShutdownTimeout > 0, "SHUTDOWN_TIMEOUT", "must be positive")
	check(c.UpstreamTimeout > 0, "UPSTREAM_TIMEOUT", "must be positive")
	check(c.HealthCheckTimeout > 0, "HEALTH_CHECK_TIMEOUT", "must be positive")
	check(c.DrawTimeout > 0, "DRAW_TIMEOUT", "must be positive")
	check(c.RequestTimeout > 0 && c.RequestTimeout < c.WriteTimeout, "REQUEST_TIMEOUT",
		"must be positive and shorter than HTTP_WRITE_TIMEOUT (%gs) so the answer can still be written", float64(c.WriteTimeout))
	for _, o := range c.CORSOrigins {
		check(o == "*" || validOrigin(o), "CORS_ORIGINS",
			"%q is not an origin (want * or a scheme://host[:port] list)", o)
	}
	for _, uv := range []struct{ name, value string }{
		{"TELEGIVE_AUTH_URL", c.Upstreams.AuthURL},
		{"TELEGIVE_CHANNEL_URL", c.Upstreams.ChannelURL},
		{"TELEGIVE_GIVEAWAY_URL", c.Upstreams.GiveawayURL},
		{"TELEGIVE_BOT_URL", c.Upstreams.BotURL},
		{"TELEGIVE_MEDIA_URL", c.Upstreams.MediaURL},
		{"TELEGRAM_API_BASE", c.Upstreams.TelegramAPIBase},
	} {
		if uv.value == "" {
			continue
		}
		u, err := url.Parse(uv.value)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", uv.name,
			"must be an http:// or https:// URL")
	}
	if c.RequireSubscription {
		check(c.SubscriptionLookups() && c.GiveawayChecks(), "REQUIRE_SUBSCRIPTION",
			"needs TELEGIVE_GIVEAWAY_URL, TELEGIVE_CHANNEL_URL, TELEGIVE_AUTH_URL and TELEGRAM_API_BASE to be set")
	}
	check(c.Auth.Mode == "" || c.Auth.Mode == "required" || c.Auth.Mode == "permissive" || c.Auth.Mode == "off",
		"AUTH_MODE", "must be required, permissive or off, got %q", c.Auth.Mode)
	check(c.Auth.SignatureWindow > 0, "SIGNATURE_WINDOW", "must be positive")
	check(c.Redis.Timeout > 0, "REDIS_TIMEOUT", "must be positive")
	check(c.Redis.Pool >= 0, "REDIS_POOL_SIZE", "must not be negative")
	check(c.Redis.URL != "" || len(c.Redis.Addrs) == 0 && c.Redis.MasterName == "" && !c.Redis.Required, "REDIS_URL",
		"must be set when REDIS_ADDRS, REDIS_MASTER_NAME or REDIS_REQUIRED is")
	check(c.Upstreams.Retries >= 0 && c.Upstreams.Retries <= 10, "UPSTREAM_RETRIES", "must be in 0..10, got %d", c.Upstreams.Retries)
	check(c.Upstreams.BreakerFailures >= 1, "UPSTREAM_BREAKER_FAILURES", "must be at least 1, got %d", c.Upstreams.BreakerFailures)
	check(c.Upstreams.BreakerOpen > 0, "UPSTREAM_BREAKER_OPEN", "must be positive")
	check(c.Upstreams.ProbeInterval > 0, "UPSTREAM_PROBE_INTERVAL", "must be positive")
	check(c.CleanupInterval > 0, "CLEANUP_INTERVAL", "must be positive")
	check(c.MemoryLimitRatio >= 0 && c.MemoryLimitRatio <= 1, "MEMORY_LIMIT_RATIO", "must be in 0..1, got %v", c.MemoryLimitRatio)
	check(c.Tracing.Protocol == "grpc" || c.Tracing.Protocol == "http/protobuf" || c.Tracing.Protocol == "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"must be grpc or http/protobuf, got %q", c.Tracing.Protocol)
	_, err := c.TrustedProxyPrefixes()
	check(err == nil, "TRUSTED_PROXIES", "%v", err)
	return errors.Join(errs...)
}

// TrustedProxyPrefixes parses TRUSTED_PROXIES: addresses or CIDR
// prefixes of the proxies allowed to set X-Forwarded-For.
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR prefix", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func portVar(c Config) string {
	if c.Port != 0 {
		return "PORT"
	}
	return "SERVICE_PORT"
}

func validPort(p int) bool { return p >= 1 && p <= 65535 }

// validOrigin reports whether s is a browser origin: http or https, a host
// and an optional port, nothing else.
func validOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery &&
		!strings.ContainsFunc(s, unicode.IsSpace) && s == u.Scheme+"://"+u.Host
}

func trimAll(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.TrimSuffix(s, "/"))
		}
	}
	return out
}

// explain rewrites the env library's errors, which name Go struct fields, so
// that they name the environment variable an operator has to fix.
func explain(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := envKeys(reflect.TypeOf(Config{}))
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			name := keys[pe.Name]
			if name == "" {
				name = pe.Name
			}
			out = append(out, fmt.Errorf("%s: %v", name, pe.Err))
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// envKeys maps struct field names to their variable names, descending into
// nested groups. Field names are unique across groups (a test checks), since
// the env library's errors name only the field.
func envKeys(t reflect.Type) map[string]string {
	keys := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, tagged := f.Tag.Lookup("env"); !tagged && f.Type.Kind() == reflect.Struct {
			for k, v := range envKeys(f.Type) {
				keys[k] = v
			}
			continue
		}
		if k, _, _ := strings.Cut(f.Tag.Get("env"), ","); k != "" && k != "-" {
			keys[f.Name] = k
		}
	}
	return keys
}

// Seconds is a duration given as a whole number of seconds ("30"), as the
// earlier deployments did, or as a Go duration ("30s", "1m").
type Seconds time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Seconds) UnmarshalText(b []byte) error {
	d, err := parseDuration(string(b), time.Second)
	*s = Seconds(d)
	return err
}

// D returns the value as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// Minutes is a duration given as a whole number of minutes, or a Go duration.
type Minutes time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Minutes) UnmarshalText(b []byte) error {
	d, err := parseDuration(string(b), time.Minute)
	*m = Minutes(d)
	return err
}

// D returns the value as a time.Duration.
func (m Minutes) D() time.Duration { return time.Duration(m) }

func parseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		// NaN, Inf and anything past about 292 years do not fit a
		// duration, and converting them is undefined across platforms.
		if !(n*float64(unit) < math.MaxInt64) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return time.Duration(n * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number nor a duration such as 30s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// RateLimit is a request budget such as "1000 per hour". The units second,
// minute, hour and day are understood, with or without a plural s, and "/"
// may stand for "per".
type RateLimit struct {
	Requests int
	Period   time.Duration
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *RateLimit) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	s = strings.Replace(s, "/", " per ", 1)
	fields := strings.Fields(s)
	if len(fields) != 3 || fields[1] != "per" {
		return fmt.Errorf("%q: want a limit such as \"1000 per hour\"", string(b))
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return fmt.Errorf("%q: the request count must be a positive integer", string(b))
	}
	periods := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	p, ok := periods[strings.TrimSuffix(fields[2], "s")]
	if !ok {
		return fmt.Errorf("%q: the period must be second, minute, hour or day", string(b))
	}
	*r = RateLimit{Requests: n, Period: p}
	return nil
}

// String formats the limit the way it is configured.
func (r RateLimit) String() string {
	names := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day"}
	return fmt.Sprintf("%d per %s", r.Requests, names[r.Period])
}

// LogLevel is a slog level; the Python-era names (WARNING, CRITICAL) are
// accepted too.
type LogLevel slog.Level

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *LogLevel) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "debug":
		*l = LogLevel(slog.LevelDebug)
	case "info", "":
		*l = LogLevel(slog.LevelInfo)
	case "warn", "warning":
		*l = LogLevel(slog.LevelWarn)
	case "error", "critical", "fatal":
		*l = LogLevel(slog.LevelError)
	default:
		return fmt.Errorf("%q: want debug, info, warn or error", string(b))
	}
	return nil
}

// Level returns the slog level.
func (l LogLevel) Level() slog.Level { return slog.Level(l) }
