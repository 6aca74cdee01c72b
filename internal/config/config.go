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
// A want tag says what a number accepts, for refusals to quote; durations,
// switches, rates and the log level need none, as their types say it (see
// wanted).
type Config struct {
	// HTTP server.
	ServicePort         int    `env:"SERVICE_PORT" envDefault:"8004" want:"a port number 1..65535"`
	Port                int    `env:"PORT" want:"a port number 1..65535"` // overrides SERVICE_PORT, as platforms such as Heroku set it
	ListenHost          string `env:"LISTEN_HOST"`
	MaxRequestBodyBytes int64  `env:"MAX_REQUEST_BODY_BYTES" envDefault:"1048576" want:"a whole number of bytes, at least 1024"`
	MaxInFlight         int    `env:"MAX_IN_FLIGHT" envDefault:"1000" want:"a whole number, 0 (no bound) or more"`
	// The HTTP_ timeouts keep the prefix in their names, as Database has
	// its own ReadTimeout and field names are unique across groups.
	HTTPReadHeaderTimeout Seconds   `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5"`
	HTTPReadTimeout       Seconds   `env:"HTTP_READ_TIMEOUT" envDefault:"15"`
	HTTPWriteTimeout      Seconds   `env:"HTTP_WRITE_TIMEOUT" envDefault:"30"`
	RequestTimeout        Seconds   `env:"REQUEST_TIMEOUT" envDefault:"8"`
	HTTPIdleTimeout       Seconds   `env:"HTTP_IDLE_TIMEOUT" envDefault:"120"`
	ShutdownDelay         Seconds   `env:"SHUTDOWN_DELAY" envDefault:"5" want:"seconds (a number) or a Go duration such as 90s, 0 or more"`
	ShutdownTimeout       Seconds   `env:"SHUTDOWN_TIMEOUT" envDefault:"20"`
	CORSOrigins           []string  `env:"CORS_ORIGINS" envSeparator:","`
	LogLevel              LogLevel  `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat             string    `env:"LOG_FORMAT" envDefault:"json"`
	ServiceName           string    `env:"SERVICE_NAME" envDefault:"participant-service"`
	HealthCheckTimeout    Seconds   `env:"HEALTH_CHECK_TIMEOUT" envDefault:"1"`
	ListMaxLimit          int       `env:"LIST_MAX_LIMIT" envDefault:"10000" want:"a whole number, at least 1"`
	MaxWinners            int       `env:"MAX_WINNERS" envDefault:"1000" want:"a whole number, at least 1"`
	RequireSubscription   bool      `env:"REQUIRE_SUBSCRIPTION" envDefault:"false"`
	APIRateLimit          RateLimit `env:"API_RATE_LIMIT" envDefault:"1000 per hour"`
	DrawTimeout           Seconds   `env:"DRAW_TIMEOUT" envDefault:"300"`
	ExportBatchSize       int       `env:"EXPORT_BATCH_SIZE" envDefault:"5000" want:"a whole number 1..100000"`
	Captcha               Captcha
	EnableMetrics         bool      `env:"ENABLE_METRICS" envDefault:"true"`
	PprofEnabled          bool      `env:"PPROF_ENABLED" envDefault:"false"`
	MemoryLimitRatio      float64   `env:"MEMORY_LIMIT_RATIO" envDefault:"0.9" want:"a number 0..1 (0 disables)"`
	MetricsPort           int       `env:"METRICS_PORT" envDefault:"9090" want:"a port number 1..65535"`
	UserRateLimit         RateLimit `env:"USER_RATE_LIMIT" envDefault:"30 per minute"`
	PublicRateLimit       RateLimit `env:"PUBLIC_RATE_LIMIT" envDefault:"600 per minute"`
	HTTPSOnly             bool      `env:"HTTPS_ONLY" envDefault:"false"`
	TrustedProxies        []string  `env:"TRUSTED_PROXIES" envSeparator:","`
	CleanupInterval       Seconds   `env:"CLEANUP_INTERVAL" envDefault:"300"`
	Database              Database
	Redis                 Redis
	Upstreams             Upstreams
	Auth                  Auth
	Tracing               Tracing
	Draws                 Draws
}

// Captcha holds the rules of the math captcha.
type Captcha struct {
	// ChallengeTimeout is a challenge's lifetime.
	ChallengeTimeout Minutes `env:"CAPTCHA_TIMEOUT_MINUTES" envDefault:"10"`
	MaxAttempts      int     `env:"CAPTCHA_MAX_ATTEMPTS" envDefault:"3" want:"a whole number 1..100"`
	MinNumber        int     `env:"CAPTCHA_MIN_NUMBER" envDefault:"1" want:"a whole number, at least 1"`
	MaxNumber        int     `env:"CAPTCHA_MAX_NUMBER" envDefault:"10" want:"a whole number above CAPTCHA_MIN_NUMBER, at most 1000"`
	// PerHour is how many fresh challenges a user gets in an hour.
	PerHour int `env:"CAPTCHA_MAX_CHALLENGES_PER_HOUR" envDefault:"5" want:"a whole number, at least 1"`
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
	PostgresURL string  `env:"DATABASE_URL"`
	SQLitePath  string  `env:"SQLITE_PATH" envDefault:"./data/participant.db"`
	PoolSize    int     `env:"DATABASE_POOL_SIZE" envDefault:"20" want:"a whole number, at least 1"`
	PoolTimeout Seconds `env:"DATABASE_POOL_TIMEOUT" envDefault:"30"`
	PoolRecycle Seconds `env:"DATABASE_POOL_RECYCLE" envDefault:"3600"`
	// ReadTimeout bounds the wait for one answer from Postgres.
	ReadTimeout    Seconds `env:"DATABASE_READ_TIMEOUT" envDefault:"300"`
	MigrateOnStart bool    `env:"MIGRATE_ON_START" envDefault:"true"`
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
	Pool       int      `env:"REDIS_POOL_SIZE" envDefault:"0" want:"a whole number, 0 (the go-redis default) or more"`
	CacheTTL   Seconds  `env:"REDIS_CACHE_TTL" envDefault:"300"`
	KeyPrefix  string   `env:"REDIS_KEY_PREFIX" envDefault:"participant-service:"`
}

// Upstreams holds the base URLs of the services this one calls, and how
// they are called. An empty URL switches the matching check off.
type Upstreams struct {
	AuthURL         string `env:"TELEGIVE_AUTH_URL"`
	ChannelURL      string `env:"TELEGIVE_CHANNEL_URL"`
	GiveawayURL     string `env:"TELEGIVE_GIVEAWAY_URL"`
	BotURL          string `env:"TELEGIVE_BOT_URL"`
	MediaURL        string `env:"TELEGIVE_MEDIA_URL"`
	TelegramAPIBase string `env:"TELEGRAM_API_BASE" envDefault:"https://api.telegram.org"`
	// ServiceToken is sent as X-Service-Token to the Telegive services.
	ServiceToken string `env:"AUTH_SERVICE_TOKEN"`
	// AttemptTimeout bounds each attempt of a call, and each health probe.
	AttemptTimeout  Seconds `env:"UPSTREAM_TIMEOUT" envDefault:"3"`
	Retries         int     `env:"UPSTREAM_RETRIES" envDefault:"2" want:"a whole number 0..10"`
	BreakerFailures int     `env:"UPSTREAM_BREAKER_FAILURES" envDefault:"5" want:"a whole number, at least 1"`
	BreakerOpen     Seconds `env:"UPSTREAM_BREAKER_OPEN" envDefault:"30"`
	ProbeInterval   Seconds `env:"UPSTREAM_PROBE_INTERVAL" envDefault:"30"`
}

// Load reads the configuration from environ, a list of KEY=value strings as
// os.Environ returns. A value that cannot be parsed or is out of range is an
// error naming the variable.
func Load(environ []string) (Config, error) {
	var cfg Config
	vars, err := parse(environ, &cfg)
	if err != nil {
		return Config{}, err
	}
	if cfg.Port != 0 {
		cfg.ServicePort = cfg.Port
	}
	cfg.CORSOrigins = trimAll(cfg.CORSOrigins)
	cfg.Draws.Relays = trimEntries(cfg.Draws.Relays)
	cfg.Draws.WitnessURLs = trimEntries(cfg.Draws.WitnessURLs)
	cfg.Draws.WitnessKeys = trimEntries(cfg.Draws.WitnessKeys)
	if err := cfg.validate(vars); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadDatabase reads the database settings alone from environ, with Load's
// defaults and refusals, for a tool that opens the database and nothing
// else: the service's other settings, even wrong ones, do not stop it.
func LoadDatabase(environ []string) (Database, error) {
	var db Database
	vars, err := parse(environ, &db)
	if err != nil {
		return Database{}, err
	}
	r := &refusals{vars: vars}
	db.validate(r)
	if err := r.err(); err != nil {
		return Database{}, err
	}
	return db, nil
}

// Ctl holds what participantctl's client commands read from the
// environment.
type Ctl struct {
	// ServiceToken is the X-Service-Token they send; --token overrides it.
	ServiceToken string `env:"PARTICIPANT_SERVICE_TOKEN"`
}

// LoadCtl reads participantctl's settings from environ.
func LoadCtl(environ []string) (Ctl, error) {
	var ctl Ctl
	if _, err := parse(environ, &ctl); err != nil {
		return Ctl{}, err
	}
	return ctl, nil
}

// parse reads environ into the struct target points to, and returns the
// values read, for refusals to quote.
func parse(environ []string, target any) (variables, error) {
	vars := variablesOf(reflect.TypeOf(target).Elem())
	opts := env.Options{
		Environment: env.ToMap(environ),
		// Record each value as read, the default included, to quote it
		// when it is refused.
		OnSet: func(key string, value any, _ bool) { vars.raw[key] = fmt.Sprint(value) },
	}
	if err := env.ParseWithOptions(target, opts); err != nil {
		return vars, vars.explain(err)
	}
	return vars, nil
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

// refusals collects what is wrong with the settings, in the order checked.
type refusals struct {
	vars variables
	errs []error
}

// check refuses variable, in words of its own, unless ok.
func (r *refusals) check(ok bool, variable, format string, args ...any) {
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("%s: %s", variable, fmt.Sprintf(format, args...)))
	}
}

// want refuses the variable's value, quoting it, in the words of its want
// tag or type, unless ok.
func (r *refusals) want(ok bool, variable string) {
	if !ok {
		r.errs = append(r.errs, r.vars.refuse(variable))
	}
}

// wantf refuses the variable's value, quoting it, in words of its own,
// unless ok.
func (r *refusals) wantf(ok bool, variable, format string, args ...any) {
	if !ok {
		r.errs = append(r.errs, r.vars.refuseWith(variable, fmt.Sprintf(format, args...)))
	}
}

func (r *refusals) err() error { return errors.Join(r.errs...) }

func (c Config) validate(vars variables) error {
	r := &refusals{vars: vars}
	port := portVar(c)
	r.want(validPort(c.ServicePort), port)
	r.want(validPort(c.MetricsPort), "METRICS_PORT")
	r.wantf(!c.EnableMetrics || c.MetricsPort != c.ServicePort, "METRICS_PORT", "a port other than the API port (%s=%d)", port, c.ServicePort)
	r.want(c.MaxInFlight >= 0, "MAX_IN_FLIGHT")
	r.want(c.MaxRequestBodyBytes >= 1024, "MAX_REQUEST_BODY_BYTES")
	r.wantf(c.LogFormat == "json" || c.LogFormat == "text", "LOG_FORMAT", "json or text")
	r.want(c.ListMaxLimit >= 1, "LIST_MAX_LIMIT")
	r.want(c.MaxWinners >= 1, "MAX_WINNERS")
	r.want(c.ExportBatchSize >= 1 && c.ExportBatchSize <= 100000, "EXPORT_BATCH_SIZE")
	c.Captcha.validate(r)
	c.Database.validate(r)
	c.Draws.validate(r)
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		r.check(err == nil && (u.Scheme == "redis" || u.Scheme == "rediss" || u.Scheme == "unix"), "REDIS_URL",
			"must be a redis://, rediss:// or unix:// URL")
	}
	r.want(c.HTTPReadHeaderTimeout > 0, "HTTP_READ_HEADER_TIMEOUT")
	r.want(c.HTTPReadTimeout > 0, "HTTP_READ_TIMEOUT")
	r.want(c.HTTPWriteTimeout > 0, "HTTP_WRITE_TIMEOUT")
	r.want(c.HTTPIdleTimeout > 0, "HTTP_IDLE_TIMEOUT")
	r.want(c.ShutdownTimeout > 0, "SHUTDOWN_TIMEOUT")
	r.want(c.Upstreams.AttemptTimeout > 0, "UPSTREAM_TIMEOUT")
	r.want(c.HealthCheckTimeout > 0, "HEALTH_CHECK_TIMEOUT")
	r.want(c.DrawTimeout > 0, "DRAW_TIMEOUT")
	// Against a write timeout refused above, the comparison says nothing.
	r.wantf(c.RequestTimeout > 0 && (c.HTTPWriteTimeout <= 0 || c.RequestTimeout < c.HTTPWriteTimeout), "REQUEST_TIMEOUT",
		"%s, below HTTP_WRITE_TIMEOUT (%v) so the answer can still be written", wantSeconds, c.HTTPWriteTimeout.D())
	for _, o := range c.CORSOrigins {
		r.check(o == "*" || validOrigin(o), "CORS_ORIGINS",
			"%q is not an origin (want * or a scheme://host[:port] list)", o)
	}
	c.Upstreams.validateURLs(r)
	if c.RequireSubscription {
		r.check(c.SubscriptionLookups() && c.GiveawayChecks(), "REQUIRE_SUBSCRIPTION",
			"needs TELEGIVE_GIVEAWAY_URL, TELEGIVE_CHANNEL_URL, TELEGIVE_AUTH_URL and TELEGRAM_API_BASE to be set")
	}
	r.wantf(c.Auth.Mode == "" || c.Auth.Mode == "required" || c.Auth.Mode == "permissive" || c.Auth.Mode == "off",
		"AUTH_MODE", "required, permissive or off")
	r.want(c.Auth.SignatureWindow > 0, "SIGNATURE_WINDOW")
	r.want(c.Redis.Timeout > 0, "REDIS_TIMEOUT")
	r.want(c.Redis.Pool >= 0, "REDIS_POOL_SIZE")
	r.check(c.Redis.URL != "" || len(c.Redis.Addrs) == 0 && c.Redis.MasterName == "" && !c.Redis.Required, "REDIS_URL",
		"must be set when REDIS_ADDRS, REDIS_MASTER_NAME or REDIS_REQUIRED is")
	r.want(c.Upstreams.Retries >= 0 && c.Upstreams.Retries <= 10, "UPSTREAM_RETRIES")
	r.want(c.Upstreams.BreakerFailures >= 1, "UPSTREAM_BREAKER_FAILURES")
	r.want(c.Upstreams.BreakerOpen > 0, "UPSTREAM_BREAKER_OPEN")
	r.want(c.Upstreams.ProbeInterval > 0, "UPSTREAM_PROBE_INTERVAL")
	r.want(c.CleanupInterval > 0, "CLEANUP_INTERVAL")
	r.want(c.MemoryLimitRatio >= 0 && c.MemoryLimitRatio <= 1, "MEMORY_LIMIT_RATIO")
	r.wantf(c.Tracing.Protocol == "grpc" || c.Tracing.Protocol == "http/protobuf" || c.Tracing.Protocol == "http/json",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc or http/protobuf")
	_, err := c.TrustedProxyPrefixes()
	r.check(err == nil, "TRUSTED_PROXIES", "%v", err)
	return r.err()
}

func (c Captcha) validate(r *refusals) {
	r.want(c.MaxAttempts >= 1 && c.MaxAttempts <= 100, "CAPTCHA_MAX_ATTEMPTS")
	r.want(c.MinNumber >= 1, "CAPTCHA_MIN_NUMBER")
	r.wantf(c.MaxNumber > c.MinNumber && c.MaxNumber <= 1000, "CAPTCHA_MAX_NUMBER",
		"a whole number above CAPTCHA_MIN_NUMBER (%d), at most 1000", c.MinNumber)
	r.want(c.PerHour >= 1, "CAPTCHA_MAX_CHALLENGES_PER_HOUR")
	r.want(c.ChallengeTimeout > 0, "CAPTCHA_TIMEOUT_MINUTES")
}

func (d Database) validate(r *refusals) {
	r.want(d.PoolSize >= 1, "DATABASE_POOL_SIZE")
	r.want(d.PoolTimeout > 0, "DATABASE_POOL_TIMEOUT")
	r.want(d.PoolRecycle > 0, "DATABASE_POOL_RECYCLE")
	r.want(d.ReadTimeout > 0, "DATABASE_READ_TIMEOUT")
	r.check(d.PostgresURL != "" || d.SQLitePath != "", "SQLITE_PATH", "must not be empty when DATABASE_URL is unset")
	// URLs may hold credentials: their refusals do not quote them.
	if d.PostgresURL != "" {
		u, err := url.Parse(d.PostgresURL)
		r.check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "DATABASE_URL",
			"must be a postgres:// or postgresql:// URL")
	}
}

// validateURLs refuses a service URL that is not http or https.
func (u Upstreams) validateURLs(r *refusals) {
	for _, uv := range []struct{ name, value string }{
		{"TELEGIVE_AUTH_URL", u.AuthURL},
		{"TELEGIVE_CHANNEL_URL", u.ChannelURL},
		{"TELEGIVE_GIVEAWAY_URL", u.GiveawayURL},
		{"TELEGIVE_BOT_URL", u.BotURL},
		{"TELEGIVE_MEDIA_URL", u.MediaURL},
		{"TELEGRAM_API_BASE", u.TelegramAPIBase},
	} {
		if uv.value == "" {
			continue
		}
		pu, err := url.Parse(uv.value)
		r.check(err == nil && (pu.Scheme == "http" || pu.Scheme == "https") && pu.Host != "", uv.name,
			"must be an http:// or https:// URL")
	}
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

// What durations, switches and rates accept, as refusals say it.
const (
	wantSeconds = "seconds (a number) or a Go duration such as 90s, above 0"
	wantMinutes = "minutes (a number) or a Go duration such as 10m, above 0"
	wantBool    = "true or false"
	wantRate    = `a budget such as "100 per second": a whole number above 0 per second, minute, hour or day`
	wantLevel   = "debug, info, warn or error"
)

// variables knows, for every setting, its variable name, what it accepts
// and the value it was given, so that a refusal can say all three.
type variables struct {
	// keys maps struct field names to variable names, as the env library's
	// errors name only the field. Field names are unique across groups (a
	// test checks).
	keys map[string]string
	// wants maps variable names to what they accept; plain text has none.
	wants map[string]string
	// raw maps variable names to the values read, defaults included.
	raw map[string]string
}

func newVariables() variables { return variablesOf(reflect.TypeOf(Config{})) }

// variablesOf knows the variables of the settings struct t.
func variablesOf(t reflect.Type) variables {
	v := variables{keys: map[string]string{}, wants: map[string]string{}, raw: map[string]string{}}
	v.walk(t)
	return v
}

// walk records the fields of t, descending into nested groups.
func (v variables) walk(t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, tagged := f.Tag.Lookup("env"); !tagged && f.Type.Kind() == reflect.Struct {
			v.walk(f.Type)
			continue
		}
		k, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if k == "" || k == "-" {
			continue
		}
		v.keys[f.Name] = k
		if w := wanted(f); w != "" {
			v.wants[k] = w
		}
	}
}

// wanted says what the field accepts: its want tag, else what its type
// reads.
func wanted(f reflect.StructField) string {
	if w := f.Tag.Get("want"); w != "" {
		return w
	}
	switch f.Type {
	case reflect.TypeFor[Seconds]():
		return wantSeconds
	case reflect.TypeFor[Minutes]():
		return wantMinutes
	case reflect.TypeFor[RateLimit]():
		return wantRate
	case reflect.TypeFor[LogLevel]():
		return wantLevel
	case reflect.TypeFor[bool]():
		return wantBool
	}
	return ""
}

// refuse is the error for a variable whose value is unreadable or out of
// range: the variable, its value and what it accepts.
func (v variables) refuse(key string) error { return v.refuseWith(key, v.wants[key]) }

func (v variables) refuseWith(key, want string) error {
	return fmt.Errorf("%s=%q: want %s", key, v.raw[key], want)
}

// explain rewrites the env library's errors, which name Go struct fields
// and speak of strconv, so that they name the environment variable an
// operator has to fix, its value and what it accepts.
func (v variables) explain(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			key := v.keys[pe.Name]
			switch {
			case v.wants[key] != "":
				out = append(out, v.refuse(key))
			case key != "":
				out = append(out, fmt.Errorf("%s: %v", key, pe.Err))
			default:
				out = append(out, fmt.Errorf("%s: %v", pe.Name, pe.Err))
			}
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
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
