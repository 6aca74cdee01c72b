// Package app wires the participant service together from its
// configuration: storage, Redis or its in-process stand-ins, upstream
// clients, authentication, the domain service and the HTTP server. It owns
// start-up, background work and the graceful shutdown order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/telemetry"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/version"
)

// App is a running participant service.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	tracing *telemetry.Tracing
	// deepTracing traces queries, Redis commands and upstream calls; nil
	// unless traces are exported.
	deepTracing trace.TracerProvider
	metrics     *telemetry.Metrics
	store       *store.Store
	redis       *redis.Client
	svc         *participant.Service
	api         *httpapi.Server
	server      *http.Server
	listener    net.Listener
	// metricsServer serves /metrics (and pprof) on METRICS_PORT.
	metricsServer   *http.Server
	metricsListener net.Listener
	// background are loops that run while the server serves.
	background []func(context.Context)
}

// Option adjusts an App, for tests.
type Option func(*options)

type options struct {
	spanExporter sdktrace.SpanExporter
}

// WithSpanExporter records every span with exp instead of OTLP.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.spanExporter = exp }
}

// NewLogger returns the service's structured logger; lines logged with a
// request's context carry its trace and span ids.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel.Level()}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(telemetry.LogHandler(h)).With("service", cfg.ServiceName)
}

// New connects to the database, migrates it when configured to, and
// builds the service. It does not listen yet.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingOptions{
		Enabled: cfg.Tracing.Enabled(), Protocol: cfg.Tracing.Protocol,
		ServiceName: cfg.ServiceName, Version: version.String(), Exporter: o.spanExporter,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Tracing.Enabled() {
		log.Info("exporting traces over OTLP", "protocol", cfg.Tracing.Protocol)
	}
	memLimit := telemetry.MemoryLimit()
	if memLimit > 0 && cfg.MemoryLimitRatio > 0 && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		// Without GOMEMLIMIT, keep the Go heap under the container's limit
		// so the garbage collector works harder before the OOM killer does.
		debug.SetMemoryLimit(int64(float64(memLimit) * cfg.MemoryLimitRatio))
		log.Info("memory limit", "container_bytes", memLimit, "go_soft_limit_bytes", debug.SetMemoryLimit(-1))
	}
	// Database and Redis spans only when traces leave the process: the
	// instrumentation costs several per cent of CPU even when spans are not
	// recorded.
	var deepTracing trace.TracerProvider
	if cfg.Tracing.Enabled() || o.spanExporter != nil {
		deepTracing = tracing.Provider
	}
	st, err := openStore(ctx, cfg, log, deepTracing)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, tracing: tracing, deepTracing: deepTracing,
		metrics: telemetry.NewMetrics(version.String(), version.Commit(), memLimit)}
	if err := a.build(); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *App) build() error {
	cfg, log, m := a.cfg, a.log, a.metrics
	checks := []health.Check{{Name: "database", Impact: health.Critical, Run: databaseCheck(a.store)}}
	m.WatchDBPool(a.store.PoolStats)

	// Shared state: Redis when configured, in-process stand-ins otherwise.
	// A Redis outage degrades: the limiter lets requests through and the
	// cache reads as empty, each failure counted.
	var (
		limiter ratelimit.Limiter = ratelimit.NewMemory(nil)
		shared  cache.Cache       = cache.NewMemory(100_000, nil)
	)
	if cfg.Redis.URL != "" {
		rc, err := redis.Open(redis.Options{
			URL: cfg.Redis.URL, Addrs: cfg.Redis.Addrs, MasterName: cfg.Redis.MasterName, Cluster: cfg.Redis.Cluster,
			PoolSize: cfg.Redis.Pool, Timeout: cfg.Redis.Timeout.D(), KeyPrefix: cfg.Redis.KeyPrefix,
			TracerProvider: a.deepTracing, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		a.redis = rc
		limiter = &ratelimit.FailOpen{Limiter: rc.Limiter(),
			OnFailure: redisFailure(log, m, "ratelimit", "rate limiter failed open: Redis unavailable")}
		shared = &cache.Bypass{Cache: rc.Cache(),
			OnFailure: redisFailure(log, m, "cache", "cache bypassed: Redis unavailable")}
		m.WatchRedisPool(func() telemetry.RedisPoolStats {
			ps := rc.PoolStats()
			return telemetry.RedisPoolStats{Total: ps.TotalConns, Idle: ps.IdleConns, Timeouts: ps.Timeouts}
		})
		impact := health.Degrading
		if cfg.Redis.Required {
			impact = health.Critical
		}
		checks = append(checks, health.Check{Name: "redis", Impact: impact, Run: health.Func(rc.Ping)})
	}

	authn, err := a.authenticator()
	if err != nil {
		return err
	}
	giveaways, subscriptions, upChecks := a.upstreams(shared)
	checks = append(checks, upChecks...)

	a.svc = participant.NewService(a.store, giveaways, subscriptions, participant.Options{
		Captcha: participant.CaptchaRules{
			MinNumber:   cfg.Captcha.MinNumber,
			MaxNumber:   cfg.Captcha.MaxNumber,
			MaxAttempts: cfg.Captcha.MaxAttempts,
			Timeout:     cfg.Captcha.ChallengeTimeout.D(),
			PerHour:     cfg.Captcha.PerHour,
		},
		MaxWinners:          cfg.MaxWinners,
		RequireSubscription: cfg.RequireSubscription,
		ListMaxLimit:        cfg.ListMaxLimit,
	})
	a.background = append(a.background, a.cleanLoop)

	checker := health.New(cfg.HealthCheckTimeout.D(), checks...)
	m.WatchDependencies(func(ctx context.Context) map[string]bool {
		up := map[string]bool{}
		for name, res := range checker.Run(ctx).Checks {
			up[name] = res.OK()
		}
		return up
	})

	proxies, _ := cfg.TrustedProxyPrefixes() // validated by config.Load
	a.api = httpapi.New(httpapi.Options{
		Service:         a.svc,
		Health:          checker,
		Logger:          log,
		ServiceName:     cfg.ServiceName,
		Version:         version.String(),
		MaxBodyBytes:    cfg.MaxRequestBodyBytes,
		MaxInFlight:     cfg.MaxInFlight,
		ExportBatchSize: cfg.ExportBatchSize,
		RequestTimeout:  cfg.RequestTimeout.D(),
		DrawTimeout:     cfg.DrawTimeout.D(),
		Auth:            authn,
		Limiter:         limiter,
		Limits: httpapi.Limits{
			Caller: ratelimit.Per(cfg.APIRateLimit.Requests, cfg.APIRateLimit.Period),
			User:   ratelimit.Per(cfg.UserRateLimit.Requests, cfg.UserRateLimit.Period),
			Public: ratelimit.Per(cfg.PublicRateLimit.Requests, cfg.PublicRateLimit.Period),
		},
		HTTPSOnly:      cfg.HTTPSOnly,
		TrustedProxies: proxies,
		CORSOrigins:    cfg.CORSOrigins,
		Observer:       m,
		TracerProvider: a.tracing.Provider,
		Propagator:     a.tracing.Propagator,
	})
	a.server = &http.Server{
		Handler:           a.api.Handler(),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout.D(),
		ReadTimeout:       cfg.HTTPReadTimeout.D(),
		WriteTimeout:      cfg.HTTPWriteTimeout.D(),
		IdleTimeout:       cfg.HTTPIdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.EnableMetrics {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		if cfg.PprofEnabled {
			// Profiles only on the metrics port, never on the public API.
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		}
		a.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: cfg.HTTPIdleTimeout.D()}
	}
	return nil
}

// redisFailure counts a Redis failure the service degraded around and logs
// it at most once a minute.
func redisFailure(log *slog.Logger, m *telemetry.Metrics, use, msg string) func(error) {
	logOnce := throttled(log, msg)
	return func(err error) {
		m.RedisError(use)
		logOnce(err)
	}
}

// authenticator loads the service tokens and picks the mode: required when
// tokens exist, permissive (today's callers send none) when they do not,
// unless AUTH_MODE says otherwise.
func (a *App) authenticator() (*auth.Authenticator, error) {
	cfg := a.cfg.Auth
	tokens, err := auth.LoadTokens(cfg.Tokens, cfg.TokensFile, cfg.LegacySecret)
	if err != nil {
		return nil, err
	}
	mode := auth.Mode(cfg.Mode)
	if mode == "" {
		mode = auth.ModePermissive
		if tokens.Len() > 0 {
			mode = auth.ModeRequired
		}
	}
	if mode == auth.ModeRequired && tokens.Len() == 0 {
		return nil, errors.New("AUTH_MODE: required, but none of SERVICE_TOKENS, SERVICE_TOKENS_FILE and SERVICE_TO_SERVICE_SECRET is set")
	}
	if mode != auth.ModeRequired {
		a.log.Warn("callers without a service token are accepted", "auth_mode", mode)
	}
	a.log.Info("authentication", "auth_mode", mode, "callers", nonNil(tokens.Names()), "require_signatures", cfg.RequireSignatures)
	return auth.New(auth.Options{
		Tokens: tokens, Mode: mode, RequireSignatures: cfg.RequireSignatures,
		Window: cfg.SignatureWindow.D(),
		// In the database: every replica refuses a replay, with or
		// without Redis, and a Redis outage opens no gap.
		Nonces: auth.NoncesFunc(a.store.RememberSignature),
	}), nil
}

// upstreams builds the clients of the services we call, and health checks
// that read their breakers (and, for the bot and media services, which we
// only watch, a background probe) instead of calling them.
func (a *App) upstreams(c cache.Cache) (participant.Giveaways, participant.Subscriptions, []health.Check) {
	cfg := a.cfg
	up := upstream.Options{
		GiveawayURL:     cfg.Upstreams.GiveawayURL,
		ChannelURL:      cfg.Upstreams.ChannelURL,
		AuthURL:         cfg.Upstreams.AuthURL,
		TelegramAPIBase: cfg.Upstreams.TelegramAPIBase,
		ServiceName:     cfg.ServiceName,
		ServiceToken:    cfg.Upstreams.ServiceToken,
		Timeout:         cfg.Upstreams.AttemptTimeout.D(),
		Retries:         cfg.Upstreams.Retries,
		BreakerFailures: cfg.Upstreams.BreakerFailures,
		BreakerOpen:     cfg.Upstreams.BreakerOpen.D(),
		Cache:           c,
		CacheTTL:        cfg.Redis.CacheTTL.D(),
		Logger:          a.log,
		OnAttempt:       a.metrics.UpstreamAttempt,
		TracerProvider:  a.deepTracing,
		Propagator:      a.tracing.Propagator,
	}
	var (
		giveaways     participant.Giveaways
		subscriptions participant.Subscriptions
		checks        []health.Check
		off           []string
	)
	if cfg.GiveawayChecks() {
		g := upstream.NewGiveaways(up)
		giveaways = g
		checks = append(checks, breakerCheck("giveaway_service", g.Breaker))
		a.metrics.WatchBreaker("giveaway", g.Breaker)
	} else {
		off = append(off, "giveaway status (TELEGIVE_GIVEAWAY_URL unset: every giveaway counts as active until its draw)")
	}
	if cfg.SubscriptionLookups() {
		s := upstream.NewSubscriptions(up)
		subscriptions = s
		for _, name := range []string{"channel", "auth", "telegram"} {
			state := func() string { return s.Breakers()[name] }
			checks = append(checks, breakerCheck(name+"_service", state))
			a.metrics.WatchBreaker(name, state)
		}
	} else {
		off = append(off, "subscription lookups (TELEGIVE_CHANNEL_URL or TELEGIVE_AUTH_URL unset)")
	}
	if len(off) > 0 {
		a.log.Warn("upstream checks are off", "off", off)
	}
	watched := map[string]string{}
	if cfg.Upstreams.BotURL != "" {
		watched["bot_service"] = cfg.Upstreams.BotURL
	}
	if cfg.Upstreams.MediaURL != "" {
		watched["media_service"] = cfg.Upstreams.MediaURL
	}
	if len(watched) > 0 {
		p := upstream.NewProber(watched, cfg.Upstreams.ProbeInterval.D(), cfg.Upstreams.AttemptTimeout.D())
		a.background = append(a.background, p.Run)
		for name := range watched {
			checks = append(checks, probeCheck(name, p))
		}
	}
	return giveaways, subscriptions, checks
}

// breakerCheck reports an upstream's breaker: down while open.
func breakerCheck(name string, state func() string) health.Check {
	return health.Check{Name: name, Impact: health.Degrading, Run: func(context.Context) health.Result {
		st := state()
		res := health.Result{Status: "ok", Details: map[string]any{"breaker": st}}
		if st == "open" {
			res.Status, res.Error = "down", "circuit breaker open"
		}
		return res
	}}
}

// probeCheck reports the last background probe of a watched service.
func probeCheck(name string, p *upstream.Prober) health.Check {
	return health.Check{Name: name, Impact: health.Degrading, Run: func(context.Context) health.Result {
		r, ok := p.Results()[name]
		switch {
		case !ok:
			return health.Result{Status: "unknown"}
		case !r.Up:
			return health.Result{Status: "down", Error: "health probe failed", Details: map[string]any{"checked_at": r.CheckedAt}}
		}
		return health.Result{Status: "ok", Details: map[string]any{"checked_at": r.CheckedAt}}
	}}
}

// cleanLoop deletes stale captcha challenges and expired request
// signatures every CleanupInterval, in bounded batches that several
// replicas can run at once.
func (a *App) cleanLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.CleanupInterval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.svc.Cleanup(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("captcha cleanup failed", "error", err, "deleted", n)
			continue
		}
		if n > 0 {
			a.log.Info("captcha cleanup", "deleted", n)
		}
		a.cleanSignatures(ctx)
	}
}

// cleanSignatures deletes expired request signatures, at most
// signatureBatches batches of signatureBatch per round.
func (a *App) cleanSignatures(ctx context.Context) {
	const signatureBatch, signatureBatches = 5000, 20
	total := 0
	for range signatureBatches {
		n, err := a.store.DeleteExpiredSignatures(ctx, signatureBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("signature cleanup failed", "error", err, "deleted", total)
			}
			return
		}
		if n < signatureBatch {
			break
		}
	}
	if total > 0 {
		a.log.Debug("signature cleanup", "deleted", total)
	}
}

// throttled logs a recurring failure at most once a minute.
func throttled(log *slog.Logger, msg string) func(error) {
	var (
		mu   sync.Mutex
		last time.Time
	)
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		log.Warn(msg, "error", err)
	}
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, tp trace.TracerProvider) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		PostgresURL:     cfg.Database.PostgresURL,
		SQLitePath:      cfg.Database.SQLitePath,
		PoolSize:        cfg.Database.PoolSize,
		PoolTimeout:     cfg.Database.PoolTimeout.D(),
		PoolRecycle:     cfg.Database.PoolRecycle.D(),
		ReadTimeout:     cfg.Database.ReadTimeout.D(),
		ApplicationName: cfg.ServiceName,
		TracerProvider:  tp,
	})
	if err != nil {
		return nil, err
	}
	where := "embedded SQLite at " + cfg.Database.SQLitePath
	if cfg.Database.PostgresURL != "" {
		where = "PostgreSQL"
	}
	log.Info("database connected", "database", where)
	if cfg.Database.MigrateOnStart {
		applied, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		log.Info("database migrated", "applied", nonNil(applied))
	}
	return st, nil
}

// nonNil returns s, or an empty list in place of nil, so that a log line
// says [] rather than null when there is nothing to list.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// databaseCheck pings the database and checks that its schema is the one
// this binary expects. Neither reads a data table.
func databaseCheck(st *store.Store) func(context.Context) health.Result {
	return func(ctx context.Context) health.Result {
		if err := st.Ping(ctx); err != nil {
			return health.Func(func(context.Context) error { return err })(ctx)
		}
		sc, err := st.Schema(ctx)
		if err != nil || !sc.Current {
			return health.Result{Status: "down", Error: "schema is not current", Cause: err,
				Details: map[string]any{"pending_migrations": sc.Pending}}
		}
		stats := st.PoolStats()
		return health.Result{Status: "ok", Details: map[string]any{
			"dialect": st.Dialect(), "open_connections": stats.OpenConnections, "in_use": stats.InUse,
			"max_open": stats.MaxOpenConnections,
		}}
	}
}

// Listen binds the API port and, with metrics on, the metrics port. Tests
// use port 0 and read Addr and MetricsAddr.
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr(), err)
	}
	a.listener = ln
	if a.metricsServer != nil {
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr())
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (METRICS_PORT): %w", a.cfg.MetricsAddr(), err)
		}
		a.metricsListener = mln
	}
	return nil
}

// Addr is the bound API address.
func (a *App) Addr() string { return a.listener.Addr().String() }

// MetricsAddr is the bound metrics address, or "" with metrics off.
func (a *App) MetricsAddr() string {
	if a.metricsListener == nil {
		return ""
	}
	return a.metricsListener.Addr().String()
}

// Serve serves until ctx is cancelled, then shuts down gracefully:
// readiness fails first, the load balancer gets ShutdownDelay to notice,
// in-flight requests get ShutdownTimeout to finish, background work stops,
// then Redis and the database close.
func (a *App) Serve(ctx context.Context) error {
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			a.close()
			return err
		}
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	for _, run := range a.background {
		bg.Add(1)
		go func() {
			defer bg.Done()
			run(bgCtx)
		}()
	}
	served := make(chan error, 1)
	go func() { served <- a.server.Serve(a.listener) }()
	if a.metricsServer != nil {
		go func() {
			if err := a.metricsServer.Serve(a.metricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("metrics server stopped", "error", err)
			}
		}()
	}
	a.log.Info("serving", "addr", a.Addr(), "metrics_addr", a.MetricsAddr(), "version", version.String())

	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
		a.log.Info("shutting down: readiness off", "delay", a.cfg.ShutdownDelay.D().String())
		a.api.Drain()
		time.Sleep(a.cfg.ShutdownDelay.D())
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.D())
		err = a.server.Shutdown(sctx)
		cancel()
		if err != nil {
			a.log.Error("graceful shutdown incomplete", "error", err)
		}
		if e := <-served; e != nil && !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	stopBackground()
	bg.Wait()
	if a.metricsServer != nil {
		// Metrics stay up until the end, so the last scrape sees the drain.
		mctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.metricsServer.Shutdown(mctx)
		cancel()
	}
	err = errors.Join(err, a.close())
	a.log.Info("stopped")
	return err
}

func (a *App) close() error {
	var err error
	if a.redis != nil {
		err = a.redis.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, a.store.Close(), a.tracing.Shutdown(ctx))
}
