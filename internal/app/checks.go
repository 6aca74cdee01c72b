package app

import (
	"context"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/upstream"
)

// healthChecker runs checks, each within HealthCheckTimeout, for the
// health endpoints and for the dependency gauges the metrics report.
func (a *App) healthChecker(checks []health.Check) *health.Checker {
	checker := health.New(a.cfg.HealthCheckTimeout.D(), checks...)
	a.metrics.WatchDependencies(func(ctx context.Context) map[string]bool {
		up := map[string]bool{}
		for name, res := range checker.Run(ctx).Checks {
			up[name] = res.OK()
		}
		return up
	})
	return checker
}

// databaseCheck pings the database and checks that its schema is the one
// this binary expects. Neither reads a data table. The service cannot
// serve without it.
func databaseCheck(st *store.Store) health.Check {
	return health.Check{Name: "database", Impact: health.Critical, Run: func(ctx context.Context) health.Result {
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
	}}
}

// redisCheck pings Redis. Without it the service runs degraded, unless
// REDIS_REQUIRED makes it critical.
func redisCheck(rc *redis.Client, required bool) health.Check {
	impact := health.Degrading
	if required {
		impact = health.Critical
	}
	return health.Check{Name: "redis", Impact: impact, Run: health.Func(rc.Ping)}
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
