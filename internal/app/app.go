// Package app wires the participant service together from its
// configuration: storage, Redis or its in-process stand-ins, upstream
// clients, authentication, the domain service and the HTTP server. It owns
// start-up, background work and the graceful shutdown order.
//
// app.go starts, serves and stops the service; build.go wires it, and
// draws.go the verifiable draws (the drand relays, the witnesses, the draw
// log's key and the protocol DRAW_PROTOCOL picks); checks.go holds the
// health checks and background.go the loops that run while it serves.
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
	"runtime/debug"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/connlimit"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/telemetry"
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
	callers     ratelimit.Limiter // charges the callers' budgets; nil: the limiter
	svc         *participant.Service
	draws       *draws
	// logs is what the checkpoint loop last saw of the draw log.
	logs     *logState
	api      *httpapi.Server
	server   *http.Server
	listener net.Listener
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
	memLimit := setMemoryLimit(cfg, log)
	// Database and Redis spans only when traces leave the process: the
	// instrumentation costs several per cent of CPU even when spans are not
	// recorded.
	var deepTracing trace.TracerProvider
	if cfg.Tracing.Enabled() || o.spanExporter != nil {
		deepTracing = tracing.Provider
	}
	metrics := telemetry.NewMetrics(version.String(), version.Commit(), memLimit)
	st, err := openStore(ctx, cfg, log, deepTracing, replicaOptions(cfg.Database, metrics))
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, tracing: tracing, deepTracing: deepTracing,
		metrics: metrics, logs: newLogState()}
	if err := a.build(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// setMemoryLimit keeps the Go heap under the container's memory limit,
// unless GOMEMLIMIT is set, so the garbage collector works harder before
// the OOM killer does. It returns the container's limit, or 0 without one.
func setMemoryLimit(cfg config.Config, log *slog.Logger) int64 {
	memLimit := telemetry.MemoryLimit()
	if memLimit > 0 && cfg.MemoryLimitRatio > 0 && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(int64(float64(memLimit) * cfg.MemoryLimitRatio))
		log.Info("memory limit", "container_bytes", memLimit, "go_soft_limit_bytes", debug.SetMemoryLimit(-1))
	}
	return memLimit
}

// Listen binds the API port and, with metrics on, the metrics port. Tests
// use port 0 and read Addr and MetricsAddr.
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr(), err)
	}
	a.listener = ln
	if n := a.cfg.HTTPMaxConnections; n > 0 {
		// The API's connections are bounded; the metrics port's are not,
		// so that kubelet's probes sent there never queue behind them.
		cl := connlimit.Wrap(a.server, ln, connlimit.Options{Max: n, Refusal: httpapi.Refusal(),
			Pass: httpapi.IsProbe, Refused: a.metrics.ConnectionRefused})
		a.metrics.WatchHTTPConnections(cl.Open, n)
		a.listener = cl
	}
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

// Serve serves until ctx is cancelled, then shuts down gracefully in
// podinfo's order: readiness fails first, the load balancer gets
// ShutdownDelay to notice, in-flight requests get ShutdownTimeout to
// finish, background work and the metrics server stop, traces are flushed,
// then Redis and the database close.
func (a *App) Serve(ctx context.Context) error {
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			a.close()
			return err
		}
	}
	stopBackground := a.startBackground(ctx)
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
		err = a.shutdown(served)
	}
	stopBackground()
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

// shutdown drains the API server: readiness fails, new requests are still
// served for ShutdownDelay, then the listener closes and requests in
// flight get ShutdownTimeout to finish. served is the server's Serve
// result.
func (a *App) shutdown(served <-chan error) error {
	a.log.Info("shutting down: readiness off", "delay", a.cfg.ShutdownDelay.D().String())
	a.api.Drain()
	time.Sleep(a.cfg.ShutdownDelay.D())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.D())
	err := a.server.Shutdown(sctx)
	cancel()
	if err != nil {
		a.log.Error("graceful shutdown incomplete", "error", err)
	}
	if e := <-served; e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

// close flushes and stops tracing, then closes Redis and the database, in
// podinfo's order: the spans of the last requests are exported while the
// database and Redis they used are still open, and a slow or failing close
// cannot lose them.
func (a *App) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.tracing.Shutdown(ctx)
	if a.redis != nil {
		err = errors.Join(err, a.redis.Close())
	}
	return errors.Join(err, a.store.Close())
}
