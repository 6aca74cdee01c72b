package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

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

// build wires the service around the open store: shared state, the
// authenticator, the upstream clients, the domain service, the health
// checks and the servers.
func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	checks := []health.Check{databaseCheck(a.store)}
	a.metrics.WatchDBPool(a.store.PoolStats)
	limiter, shared, sharedChecks, err := a.sharedState()
	if err != nil {
		return err
	}
	checks = append(checks, sharedChecks...)

	authn, err := a.authenticator()
	if err != nil {
		return err
	}
	giveaways, subscriptions, upChecks := a.upstreams(shared)
	checks = append(checks, upChecks...)

	d, err := a.drawWiring(ctx)
	if err != nil {
		return err
	}
	a.draws = d
	opts, err := d.options(cfg.Draws, a.metrics, a.log)
	if err != nil {
		return fmt.Errorf("draws: %w", err)
	}
	opts.Captcha = participant.CaptchaRules{
		MinNumber:   cfg.Captcha.MinNumber,
		MaxNumber:   cfg.Captcha.MaxNumber,
		MaxAttempts: cfg.Captcha.MaxAttempts,
		Timeout:     cfg.Captcha.ChallengeTimeout.D(),
		PerHour:     cfg.Captcha.PerHour,
	}
	opts.MaxWinners, opts.RequireSubscription, opts.ListMaxLimit = cfg.MaxWinners, cfg.RequireSubscription, cfg.ListMaxLimit
	a.svc = participant.NewService(timedStore{Store: a.store, appended: a.metrics.LogAppended}, giveaways, subscriptions, opts)
	checks = append(checks, d.beaconCheck(cfg.Draws), a.logs.check())
	if d.witnesses != nil {
		checks = append(checks, d.witnesses.check())
	}
	a.metrics.WatchCheckpointAge(a.logs.checkpointAge)
	a.background = append(a.background, a.cleanLoop, a.backfillLoop, a.checkpointLoop, a.finishLoop)

	checks = append(checks, a.readReplica()...)
	a.api = httpapi.New(a.apiOptions(a.healthChecker(checks), authn, limiter))
	if a.store.Replica().Configured {
		a.api.Router().Use(markStale)
	}
	a.server = &http.Server{
		Handler:           a.api.Handler(),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout.D(),
		ReadTimeout:       cfg.HTTPReadTimeout.D(),
		WriteTimeout:      cfg.HTTPWriteTimeout.D(),
		IdleTimeout:       cfg.HTTPIdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if cfg.EnableMetrics {
		a.metricsServer = a.newMetricsServer()
	}
	return nil
}

// sharedState returns the rate limiter and cache the replicas share:
// Redis when configured, in-process stand-ins otherwise. A Redis outage
// degrades: the limiter lets requests through and the cache reads as
// empty, each failure counted.
func (a *App) sharedState() (ratelimit.Limiter, cache.Cache, []health.Check, error) {
	cfg, log, m := a.cfg.Redis, a.log, a.metrics
	if cfg.URL == "" {
		return ratelimit.NewMemory(nil), cache.NewMemory(100_000, nil), nil, nil
	}
	rc, err := redis.Open(redis.Options{
		URL: cfg.URL, Addrs: cfg.Addrs, MasterName: cfg.MasterName, Cluster: cfg.Cluster,
		PoolSize: cfg.Pool, Timeout: cfg.Timeout.D(), KeyPrefix: cfg.KeyPrefix,
		TracerProvider: a.deepTracing, Logger: log,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	a.redis = rc
	failed := redisFailure(log, m, "ratelimit", "rate limiter failed open: Redis unavailable")
	limiter := &ratelimit.FailOpen{Limiter: rc.Limiter(), OnFailure: failed}
	// The callers' budgets are a few hot keys (the bot's takes every
	// press): each pod charges them in leases, inside the fail-open so
	// that the requests waiting for a lease Redis did not give go through.
	a.callers = &ratelimit.FailOpen{Limiter: ratelimit.NewLeased(rc.Limiter(), ratelimit.LeaseOptions{}), OnFailure: failed}
	shared := &cache.Bypass{Cache: rc.Cache(),
		OnFailure: redisFailure(log, m, "cache", "cache bypassed: Redis unavailable")}
	m.WatchRedisPool(func() telemetry.RedisPoolStats {
		ps := rc.PoolStats()
		return telemetry.RedisPoolStats{Total: ps.TotalConns, Idle: ps.IdleConns, Timeouts: ps.Timeouts}
	})
	return limiter, shared, []health.Check{redisCheck(rc, cfg.Required)}, nil
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
	return giveaways, subscriptions, append(checks, a.probeWatched()...)
}

// apiOptions configures the API server.
func (a *App) apiOptions(checker *health.Checker, authn *auth.Authenticator, limiter ratelimit.Limiter) httpapi.Options {
	cfg := a.cfg
	proxies, _ := cfg.TrustedProxyPrefixes() // validated by config.Load
	return httpapi.Options{
		Service:            a.svc,
		Health:             checker,
		Logger:             a.log,
		ServiceName:        cfg.ServiceName,
		Version:            version.String(),
		MaxBodyBytes:       cfg.MaxRequestBodyBytes,
		MaxInFlight:        cfg.MaxInFlight,
		MaxInFlightWait:    cfg.MaxInFlightWait.D(),
		ConnectionsBounded: cfg.HTTPMaxConnections > 0,
		ExportBatchSize:    cfg.ExportBatchSize,
		RequestTimeout:     cfg.RequestTimeout.D(),
		DrawTimeout:        cfg.DrawTimeout.D(),
		BeaconWait:         cfg.Draws.BeaconWait.D(),
		Auth:               authn,
		Limiter:            limiter,
		CallerLimiter:      a.callers,
		Limits: httpapi.Limits{
			Caller: ratelimit.Per(cfg.APIRateLimit.Requests, cfg.APIRateLimit.Period),
			User:   ratelimit.Per(cfg.UserRateLimit.Requests, cfg.UserRateLimit.Period),
			Public: ratelimit.Per(cfg.PublicRateLimit.Requests, cfg.PublicRateLimit.Period),
		},
		HTTPSOnly:      cfg.HTTPSOnly,
		TrustedProxies: proxies,
		CORSOrigins:    cfg.CORSOrigins,
		Observer:       a.metrics,
		TracerProvider: a.tracing.Provider,
		Propagator:     a.tracing.Propagator,
		SpansExported:  a.deepTracing != nil,
	}
}

// newMetricsServer serves /metrics, the health endpoints and, when
// enabled, the profiles.
func (a *App) newMetricsServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.metrics.Handler())
	// The health endpoints too, for kubelet: the API port bounds its
	// connections (HTTP_MAX_CONNECTIONS), and under overload a probe sent
	// there waits in the kernel's accept queue behind the callers' (1 to
	// 2 s in a spike three times what the process could serve, against
	// a probe timeout of 2 s); this port's are few.
	for _, p := range httpapi.HealthPaths {
		mux.Handle(p, a.server.Handler)
	}
	if a.cfg.PprofEnabled {
		// Profiles only on the metrics port, never on the public API.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: a.cfg.HTTPIdleTimeout.D()}
}

// openStore opens the database and, when configured to, migrates it.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, tp trace.TracerProvider, replica store.ReplicaOptions) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		PostgresURL:     cfg.Database.PostgresURL,
		SQLitePath:      cfg.Database.SQLitePath,
		PoolSize:        cfg.Database.PoolSize,
		PoolTimeout:     cfg.Database.PoolTimeout.D(),
		PoolRecycle:     cfg.Database.PoolRecycle.D(),
		ReadTimeout:     cfg.Database.ReadTimeout.D(),
		ApplicationName: cfg.ServiceName,
		TracerProvider:  tp,
		Replica:         replica,
	})
	if err != nil {
		return nil, err
	}
	where := "embedded SQLite at " + cfg.Database.SQLitePath
	if cfg.Database.PostgresURL != "" {
		where = "PostgreSQL"
	}
	if replica.URL != "" {
		where += ", with a read replica"
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
