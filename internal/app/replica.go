package app

import (
	"context"
	"math"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/telemetry"
)

// staleRoutes are the routes whose reads the read replica may serve
// (DATABASE_READ_URL), within DATABASE_READ_MAX_LAG of the primary. Each
// only reads and decides nothing from what it read, and its callers
// accept an answer that old: participant listings, counts, statistics and
// exports, a user's history, the public draw record and proofs of a drawn
// (or frozen) giveaway, whose entrants no longer change, the rules, and the
// eligibility preview (register decides again on the primary).
//
// Everything else stays on the primary: whatever writes or decides
// (register, validate-captcha, select-winners, redraw, commit, rules PUT,
// delivery updates, cleanup), every transaction, and the reads callers
// make right after their own writes: captcha-status and winner-status
// (the bot asks them after validate-captcha and the draw), the winners list
// (asked after select-winners), the draw log's endpoints (a proof must be
// of the checkpoint the caller holds, which may be seconds old) and the
// admin totals.
var staleRoutes = map[string]bool{
	"list": true, "list_legacy": true, "count": true, "stats": true, "export": true, "history": true,
	"draw": true, "draw_proof": true, "draw_winner_proofs": true, "draw_entrants": true,
	"rules": true, "eligibility": true,
}

// replicaOptions configure the store's read replica from the database
// settings; without DATABASE_READ_URL there is none.
func replicaOptions(cfg config.Database, m *telemetry.Metrics) store.ReplicaOptions {
	if cfg.ReplicaURL == "" {
		return store.ReplicaOptions{}
	}
	return store.ReplicaOptions{
		URL: cfg.ReplicaURL, MaxLag: cfg.ReplicaMaxLag.D(), CheckInterval: cfg.ReplicaCheckInterval.D(), PoolSize: cfg.ReplicaPoolSize,
		OnRead: m.ReplicaRead,
	}
}

// readReplica wires the read replica, when there is one: the lag
// measurements in the background, the metrics and the health check, which
// it returns. The routes it may serve are marked by markStale.
func (a *App) readReplica() []health.Check {
	if !a.store.Replica().Configured {
		return nil
	}
	a.background = append(a.background, a.store.WatchReplica)
	a.metrics.WatchReplica(func() telemetry.ReplicaStats {
		st := a.store.Replica()
		lag := st.Lag.Seconds()
		if !st.Up {
			lag = math.Inf(1)
		}
		return telemetry.ReplicaStats{Lag: lag, Usable: st.Usable}
	})
	a.log.Info("reads that may be stale go to the read replica", "max_lag", a.cfg.Database.ReplicaMaxLag.D().String(),
		"check_interval", a.cfg.Database.ReplicaCheckInterval.D().String())
	return []health.Check{replicaCheck(a.store)}
}

// drawRoutes are the stale routes that show a draw's state. A caller
// presenting a service token (the giveaway service, the bot) reads them
// from the primary, so that the giveaway service never sees a draw older
// than the select-winners or redraw it just made; the public reads them
// from the replica.
var drawRoutes = map[string]bool{"draw": true, "draw_proof": true, "draw_winner_proofs": true, "draw_entrants": true}

// markStale lets the reads of a stale route go to the replica. It runs
// after routing, as the route decides.
func markStale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt := mux.CurrentRoute(r); rt != nil && staleRoutes[rt.GetName()] &&
			!(drawRoutes[rt.GetName()] && r.Header.Get("X-Service-Token") != "") {
			r = r.WithContext(store.AllowStale(r.Context()))
		}
		next.ServeHTTP(w, r)
	})
}

// replicaCheck reports the read replica from its last lag measurement,
// without a query of its own. The replica is optional: while it is down
// or lagging its reads go to the primary, so it degrades the report and
// never fails readiness.
func replicaCheck(st *store.Store) health.Check {
	return health.Check{Name: "database_replica", Impact: health.Degrading, Run: func(context.Context) health.Result {
		s := st.Replica()
		details := map[string]any{"max_lag_seconds": s.MaxLag.Seconds(), "checked_at": s.CheckedAt}
		switch {
		case !s.Up:
			return health.Result{Status: "down", Error: "unavailable; reads go to the primary", Cause: s.Err, Details: details}
		case !s.Usable:
			details["lag_seconds"] = s.Lag.Seconds()
			return health.Result{Status: "lagging", Details: details}
		}
		details["lag_seconds"] = s.Lag.Seconds()
		return health.Result{Status: "ok", Details: details}
	}}
}
