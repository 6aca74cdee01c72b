// Package app wires the participant service together from its
// configuration: storage, upstream clients, the domain service and the HTTP
// server. It owns start-up and the graceful shutdown order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/version"
)

// App is a running participant service.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	api      *httpapi.Server
	server   *http.Server
	listener net.Listener
	served   chan error
}

// NewLogger returns the service's structured logger.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel.Level()}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("service", cfg.ServiceName)
}

// New connects to the database, migrates it when configured to, and
// builds the service. It does not listen yet.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st}

	var (
		giveaways     participant.Giveaways
		subscriptions participant.Subscriptions
	)
	up := upstream.Options{
		GiveawayURL:     cfg.Upstreams.GiveawayURL,
		ChannelURL:      cfg.Upstreams.ChannelURL,
		AuthURL:         cfg.Upstreams.AuthURL,
		TelegramAPIBase: cfg.Upstreams.TelegramAPIBase,
		ServiceName:     cfg.ServiceName,
		Timeout:         cfg.UpstreamTimeout.D(),
	}
	var off []string
	if cfg.GiveawayChecks() {
		giveaways = upstream.NewGiveaways(up)
	} else {
		off = append(off, "giveaway status (TELEGIVE_GIVEAWAY_URL unset: every giveaway counts as active until its draw)")
	}
	if cfg.SubscriptionLookups() {
		subscriptions = upstream.NewSubscriptions(up)
	} else {
		off = append(off, "subscription lookups (TELEGIVE_CHANNEL_URL or TELEGIVE_AUTH_URL unset)")
	}
	if len(off) > 0 {
		log.Warn("upstream checks are off", "off", off)
	}

	svc := participant.NewService(st, giveaways, subscriptions, participant.Options{
		Captcha: participant.CaptchaRules{
			MinNumber:   cfg.CaptchaMinNumber,
			MaxNumber:   cfg.CaptchaMaxNumber,
			MaxAttempts: cfg.CaptchaMaxAttempts,
			Timeout:     cfg.CaptchaTimeout.D(),
			PerHour:     cfg.CaptchaPerHour,
		},
		MaxWinners:          cfg.MaxWinners,
		RequireSubscription: cfg.RequireSubscription,
		ListMaxLimit:        cfg.ListMaxLimit,
	})
	checks := health.New(cfg.HealthCheckTimeout.D(), health.Check{
		Name:   "database",
		Impact: health.Critical,
		Run:    databaseCheck(st),
	})
	a.api = httpapi.New(httpapi.Options{
		Service:         svc,
		Health:          checks,
		Logger:          log,
		ServiceName:     cfg.ServiceName,
		Version:         version.String(),
		MaxBodyBytes:    cfg.MaxRequestBodyBytes,
		ExportBatchSize: cfg.ExportBatchSize,
	})
	a.server = &http.Server{
		Handler:           a.api.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		PostgresURL:     cfg.Database.URL,
		SQLitePath:      cfg.Database.SQLitePath,
		PoolSize:        cfg.Database.PoolSize,
		PoolTimeout:     cfg.Database.PoolTimeout.D(),
		PoolRecycle:     cfg.Database.PoolRecycle.D(),
		ReadTimeout:     cfg.Database.ReadTimeout.D(),
		ApplicationName: cfg.ServiceName,
	})
	if err != nil {
		return nil, err
	}
	where := "embedded SQLite at " + cfg.Database.SQLitePath
	if cfg.Database.URL != "" {
		where = "PostgreSQL"
	}
	log.Info("database connected", "database", where)
	if cfg.Database.MigrateOnStart {
		applied, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		log.Info("database migrated", "applied", applied)
	}
	return st, nil
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

// Listen binds the API port. Tests use port 0 and read Addr.
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr(), err)
	}
	a.listener = ln
	return nil
}

// Addr is the bound API address.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Serve serves until ctx is cancelled, then shuts down gracefully:
// readiness fails first, the load balancer gets ShutdownDelay to notice,
// in-flight requests get ShutdownTimeout to finish, then the database
// closes.
func (a *App) Serve(ctx context.Context) error {
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	served := make(chan error, 1)
	go func() { served <- a.server.Serve(a.listener) }()
	a.log.Info("serving", "addr", a.Addr(), "version", version.String())

	select {
	case err := <-served:
		a.store.Close()
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: readiness off", "delay", a.cfg.ShutdownDelay.D().String())
	a.api.Drain()
	time.Sleep(a.cfg.ShutdownDelay.D())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.D())
	defer cancel()
	err := a.server.Shutdown(sctx)
	if err != nil {
		a.log.Error("graceful shutdown incomplete", "error", err)
	}
	if e := <-served; e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	if e := a.store.Close(); e != nil {
		err = errors.Join(err, e)
	}
	a.log.Info("stopped")
	return err
}
