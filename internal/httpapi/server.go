// Package httpapi is the HTTP face of the participant service: routes,
// request decoding, the mapping of domain errors to statuses, health
// endpoints and the middleware every request passes through. Handlers parse,
// call the domain, and write the answer; they hold no rules of their own.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/participant"
)

// Options configure a Server.
type Options struct {
	Service *participant.Service
	Health  *health.Checker
	Logger  *slog.Logger
	// ServiceName and Version are reported by the health endpoints.
	ServiceName string
	Version     string
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// ExportBatchSize is how many rows an export reads at a time.
	ExportBatchSize int
	// ExportTimeout bounds one export stream.
	ExportTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server serves the participant API.
type Server struct {
	svc      *participant.Service
	health   *health.Checker
	log      *slog.Logger
	opts     Options
	router   *mux.Router
	draining atomic.Bool
}

// New returns a Server with its routes registered.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.ExportBatchSize <= 0 {
		o.ExportBatchSize = 5000
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = 30 * time.Minute
	}
	s := &Server{svc: o.Service, health: o.Health, log: o.Logger, opts: o, router: mux.NewRouter()}
	s.routes()
	return s
}

// Handler returns the server's handler with its middleware.
func (s *Server) Handler() http.Handler {
	return s.recoverPanics(s.logRequests(s.limitBodies(s.router)))
}

// Router exposes the routes, for tests that walk them.
func (s *Server) Router() *mux.Router { return s.router }

// Drain marks the server as shutting down: readiness fails from now on so
// that the load balancer stops sending traffic before the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

// writeJSON writes v with the status. Encoding errors can only come from
// a broken connection, which there is no one left to tell.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func pathVar(r *http.Request, name string) string { return mux.Vars(r)[name] }

// routeName is the matched route's name, a bounded label for logs and
// metrics (never the raw path).
func routeName(r *http.Request) string {
	if rt := mux.CurrentRoute(r); rt != nil {
		if n := rt.GetName(); n != "" {
			return n
		}
	}
	return "unmatched"
}
