// Package httpapi is the HTTP face of the participant service: routes,
// request decoding, the mapping of domain errors to statuses, health
// endpoints and the middleware every request passes through. Handlers parse,
// call the domain, and write the answer; they hold no rules of their own.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/ratelimit"

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
	// MaxInFlight bounds the API requests served at once; beyond it a
	// request is answered 503 (after MaxInFlightWait) instead of queueing
	// for the database.
	// Health probes are never refused. Zero means no bound.
	MaxInFlight int
	// MaxInFlightWait is how long a request that finds MaxInFlight in
	// flight waits for one of them to finish before it is refused; zero
	// refuses it at once.
	MaxInFlightWait time.Duration
	// ConnectionsBounded says the listener bounds the connections the
	// server holds (connlimit, HTTP_MAX_CONNECTIONS): a request shed then
	// keeps its connection for the caller's next one, since the
	// connections it leaves idle cannot grow past the bound.
	ConnectionsBounded bool
	// ExportBatchSize is how many rows an export reads at a time.
	ExportBatchSize int
	// RequestTimeout bounds the work for one API request: past it, waits on
	// the database, Redis and upstream services give up and the caller
	// gets 503. Zero means no bound.
	RequestTimeout time.Duration
	// DrawTimeout replaces RequestTimeout for select-winners and redraw,
	// which read every entrant, and extends their write deadline to match.
	DrawTimeout time.Duration
	// BeaconWait bounds, from the start of select-winners and redraw, how
	// long they wait for a drand beacon round (see BeaconDeadline), so
	// that BEACON_UNAVAILABLE reaches the caller before its own timeout.
	// Zero means no bound beyond the request's deadline.
	BeaconWait time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Auth authenticates callers; nil means every caller has every scope
	// (AUTH_MODE=off).
	Auth *auth.Authenticator
	// Limiter and Limits charge request budgets; a nil Limiter charges
	// nothing.
	Limiter ratelimit.Limiter
	// CallerLimiter, when set, charges the callers' budgets (Limits.Caller)
	// instead of Limiter: a few keys, each taking a whole service's
	// traffic, which a ratelimit.Leased charges in leases.
	CallerLimiter ratelimit.Limiter
	Limits        Limits
	// HTTPSOnly refuses plain-HTTP requests (judged by X-Forwarded-Proto)
	// and sets HSTS.
	HTTPSOnly bool
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed to call the API.
	CORSOrigins []string
	// Observer hears what is served and decided, for metrics.
	Observer Observer
	// Tracing creates server spans and reads W3C trace context; nil
	// disables both.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	// SpansExported says the provider's spans leave the process: the
	// server span then gets otelhttp's HTTP attributes. Otherwise only
	// the trace context is carried (into the logs and upstream calls),
	// without the work of attributes nothing reads.
	SpansExported bool
}

// Server serves the participant API.
type Server struct {
	svc      *participant.Service
	health   *health.Checker
	log      *slog.Logger
	auth     *auth.Authenticator
	limiter  ratelimit.Limiter
	callers  ratelimit.Limiter // charges Limits.Caller
	obs      Observer
	opts     Options
	router   *mux.Router
	openapi  []byte
	draining atomic.Bool
	slots    chan struct{} // MaxInFlight tokens; nil when unbounded
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
	if o.Auth == nil {
		o.Auth = auth.New(auth.Options{Mode: auth.ModeOff})
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	s := &Server{svc: o.Service, health: o.Health, log: o.Logger, auth: o.Auth, limiter: o.Limiter, obs: o.Observer,
		callers: o.CallerLimiter, opts: o, router: mux.NewRouter()}
	if s.callers == nil {
		s.callers = s.limiter
	}
	doc, err := openAPIJSON()
	if err != nil {
		panic("httpapi: the embedded OpenAPI description is not valid YAML: " + err.Error())
	}
	s.openapi = doc
	if o.MaxInFlight > 0 {
		s.slots = make(chan struct{}, o.MaxInFlight)
	}
	s.routes()
	return s
}

// Handler returns the server's handler with its middleware, outermost
// first: nosniff, the request log, panics, HTTPS, CORS, canonical paths,
// routing, and, once the route is known, the body limit, load shedding
// and the request's deadline.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.canonicalPaths(s.router)
	if len(s.opts.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins: s.opts.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut},
			AllowedHeaders: []string{"Content-Type", "X-Service-Token", "X-Timestamp", "X-Signature", "X-Request-ID"},
			ExposedHeaders: []string{"X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"},
			MaxAge:         600,
		}).Handler(h)
	}
	// The request log is outside the panic handler, so that a request that
	// panicked is logged with its route and its 500 like any other.
	h = noSniff(s.logRequests(s.recoverPanics(s.requireHTTPS(h))))
	// Tracing is outermost, so that the request log line carries the
	// trace id.
	switch {
	case s.opts.TracerProvider == nil:
	case s.opts.SpansExported:
		h = otelhttp.NewHandler(h, "http.server",
			otelhttp.WithTracerProvider(s.opts.TracerProvider), otelhttp.WithPropagators(s.opts.Propagator))
	default:
		h = carryTrace(h, s.opts.TracerProvider, s.opts.Propagator)
	}
	return h
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
