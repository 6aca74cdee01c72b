// Package config loads the service's settings from the environment into one
// typed struct. It is the only place that knows variable names; nothing else
// in the service reads the environment.
package config

import (
	"fmt"
	"net/url"
	"reflect"

	"github.com/caarlos0/env/v11"
)

// Config is every setting of the service. Field tags name the environment
// variables that existing deployments of the participant service already use.
// A want tag says what a number accepts, for refusals to quote; durations,
// switches, rates and the log level need none, as their types say it (see
// wanted).
type Config struct {
	// HTTP server.
	ServicePort         int     `env:"SERVICE_PORT" envDefault:"8004" want:"a port number 1..65535"`
	Port                int     `env:"PORT" want:"a port number 1..65535"` // overrides SERVICE_PORT, as platforms such as Heroku set it
	ListenHost          string  `env:"LISTEN_HOST"`
	MaxRequestBodyBytes int64   `env:"MAX_REQUEST_BODY_BYTES" envDefault:"1048576" want:"a whole number of bytes, at least 1024"`
	MaxInFlight         int     `env:"MAX_IN_FLIGHT" want:"a whole number, 0 (no bound) or more"` // unset: derived, see deriveDefaults
	MaxInFlightWait     Seconds `env:"MAX_IN_FLIGHT_WAIT" envDefault:"0.02" want:"seconds (a number) or a Go duration such as 20ms, 0 or more, below REQUEST_TIMEOUT"`
	HTTPMaxConnections  int     `env:"HTTP_MAX_CONNECTIONS" want:"a whole number, 0 (no bound) or more"` // unset: derived, see deriveDefaults
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
	cfg.deriveDefaults(env.ToMap(environ))
	cfg.CORSOrigins = trimAll(cfg.CORSOrigins)
	cfg.Draws.Relays = trimEntries(cfg.Draws.Relays)
	cfg.Draws.WitnessURLs = trimEntries(cfg.Draws.WitnessURLs)
	cfg.Draws.WitnessKeys = trimEntries(cfg.Draws.WitnessKeys)
	if err := cfg.validate(vars); err != nil {
		return Config{}, err
	}
	return cfg, nil
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

func (c Config) validate(vars variables) error {
	r := &refusals{vars: vars}
	port := portVar(c)
	r.want(validPort(c.ServicePort), port)
	r.want(validPort(c.MetricsPort), "METRICS_PORT")
	r.wantf(!c.EnableMetrics || c.MetricsPort != c.ServicePort, "METRICS_PORT", "a port other than the API port (%s=%d)", port, c.ServicePort)
	r.want(c.MaxInFlight >= 0, "MAX_IN_FLIGHT")
	r.want(c.HTTPMaxConnections >= 0, "HTTP_MAX_CONNECTIONS")
	r.wantf(c.MaxInFlightWait >= 0 && (c.RequestTimeout <= 0 || c.MaxInFlightWait < c.RequestTimeout), "MAX_IN_FLIGHT_WAIT",
		"seconds (a number) or a Go duration such as 20ms, 0 or more, below REQUEST_TIMEOUT (%v)", c.RequestTimeout.D())
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
