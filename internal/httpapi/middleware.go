package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/drawpage"
	"github.com/telegive/participant-service/internal/participant"
)

// recoverPanics turns a panic into a 500 with a safe body. The panic value
// and the location are logged; the client learns nothing about either.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // the handler chose to abort the response
			}
			_, file, line, _ := runtime.Caller(3)
			route := infoOf(r.Context()).route
			if route == "" {
				route = routeName(r)
			}
			s.log.ErrorContext(r.Context(), "panic serving request",
				"panic", fmt.Sprint(p), "at", fmt.Sprintf("%s:%d", file, line), "method", r.Method, "route", route)
			s.writeError(w, r, fmt.Errorf("panic: %v", p))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBodies refuses bodies over the limit: at once when Content-Length
// says so, and while reading otherwise. It runs once the route is known,
// so that a refused request is logged and counted on its route.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			s.writeError(w, r, errPayloadTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// logRequests writes one structured line per request and carries an
// X-Request-ID through, making one up when the caller sent none or an
// unsafe one. The line names the route (and its template), the caller the
// token authenticated, the X-Service-Name the caller gave, and for a
// failed request its error code and message: enough to tell from the log
// alone who was refused and why.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		info := &requestInfo{}
		s.obs.RequestStarted()
		next.ServeHTTP(rec, r.WithContext(withRequestInfo(r.Context(), info)))
		elapsed := time.Since(start)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		route := info.route
		if route == "" {
			route = "unmatched"
		}
		s.obs.RequestFinished(route, r.Method, rec.status, elapsed)
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
		}
		if info.template != "" {
			attrs = append(attrs, slog.String("route_template", info.template))
		}
		attrs = append(attrs,
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
			slog.String("request_id", id),
		)
		if info.caller != "" {
			attrs = append(attrs, slog.String("caller", info.caller))
		}
		if name := r.Header.Get("X-Service-Name"); name != "" {
			attrs = append(attrs, slog.String("service_name", name))
		}
		if info.errorCode != "" {
			attrs = append(attrs, slog.String("error_code", string(info.errorCode)), slog.String("error", info.errorMessage))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// write deadlines in exports).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// notFound answers unmatched requests in the API's error format: 405 with
// Allow when the path exists under other methods, 404 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil && match.Route != nil {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, participant.Errorf(codeMethodNotAllowed, "This method is not allowed on this endpoint."))
		return
	}
	msg := "No such endpoint. The API is described at /openapi.json."
	if r.URL.Path == "/" {
		msg = "No such endpoint. The API is described at /openapi.json; the draw of a giveaway can be checked at /draws/{giveaway_id}."
	}
	s.noSuchEndpoint(w, r, msg)
}

// noSuchEndpoint answers 404: a JSON error, or for a browser that asked
// for a draw page address that does not exist, a page a person can read.
func (s *Server) noSuchEndpoint(w http.ResponseWriter, r *http.Request, msg string) {
	if strings.HasPrefix(r.URL.Path, "/draws/") && strings.Contains(r.Header.Get("Accept"), "text/html") {
		drawpage.NotFoundPage(w, r)
		return
	}
	s.writeError(w, r, participant.Errorf(codeRouteNotFound, "%s", msg))
}

// canonicalPaths refuses a path with an empty, "." or ".." segment with a
// JSON 404. The router would redirect it to its clean form, and a client
// that follows the redirect sends a POST again as a GET without its body;
// no caller of this API builds such paths, so they name no endpoint.
func (s *Server) canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if !strings.HasPrefix(p, "/") || cleanPath(p) != p {
			s.noSuchEndpoint(w, r, `No such endpoint: the path has an empty, "." or ".." segment.`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath is path.Clean keeping a trailing slash, the form the router
// would redirect to.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// noSniff tells browsers to take every answer's Content-Type as sent and
// never guess another (an error echoing a path must not become a page).
func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// carryTrace continues the caller's W3C trace context (or starts a
// trace) in a span of its own, for a tracer provider whose spans are not
// exported: the trace id still reaches the request log and the upstream
// calls. otelhttp would also build the span's HTTP attributes and its
// metrics' attribute sets, which nothing reads then: 9 % of the service's
// CPU in a flat-out registration run (docs/burst.md, "Change 6").
func carryTrace(next http.Handler, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.Handler {
	tracer := tp.Tracer("github.com/telegive/participant-service/internal/httpapi")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "http.server", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// nameRoute records the matched route's name for the request log and
// metrics, and names the server span after the route template.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt := mux.CurrentRoute(r); rt != nil {
			info := infoOf(r.Context())
			info.route = rt.GetName()
			if tpl, err := rt.GetPathTemplate(); err == nil {
				info.template = tpl
				if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
					span.SetName(r.Method + " " + tpl)
					span.SetAttributes(attribute.String("http.route", tpl))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bound gives each request a deadline, so that a dependency that stops
// answering without refusing (a network partition, a stuck server) costs a
// caller at most the deadline and a pooled connection is freed instead of
// held for the database read timeout. Probes have their own short
// timeouts; streams (export, the entrant list) run under exportTimeout.
func (s *Server) bound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := routeName(r)
		d := s.opts.RequestTimeout
		switch {
		case probes[name]:
			d = 0
		case streams[name]:
			d = exportTimeout
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		case draws[name] && s.opts.DrawTimeout > 0:
			d = s.opts.DrawTimeout
			// Leave time to write the answer after a long draw.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + 5*time.Second))
		}
		if draws[name] && s.opts.BeaconWait > 0 {
			// Reading every entrant may take DRAW_TIMEOUT, but waiting for
			// a beacon round must end while the caller still listens.
			r = r.WithContext(context.WithValue(r.Context(), beaconDeadlineKey{}, time.Now().Add(s.opts.BeaconWait)))
		}
		if d <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		if waited, _ := r.Context().Value(waitedKey{}).(time.Duration); waited > 0 {
			d = max(d-waited, time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// exportTimeout bounds one stream of a giveaway's entrants.
const exportTimeout = 30 * time.Minute

// draws are the routes that read every entrant of a giveaway.
var draws = map[string]bool{"select_winners": true, "select_winners_legacy": true, "redraw": true}

// streams are the routes that stream a giveaway's entrants.
var streams = map[string]bool{"export": true, "draw_entrants": true}

// probes are the routes load shedding never refuses: a kubelet that cannot
// reach them would restart a pod that is merely busy.
var probes = map[string]bool{"health": true, "health_live": true, "health_ready": true}

// errOverloaded answers a request shed because MaxInFlight are in flight.
var errOverloaded = &participant.Error{Code: participant.CodeServiceUnavailable,
	Message: "The service is busy. Please try again shortly.", RetryAfter: time.Second}

// shedLoad refuses a request, with 503 and Retry-After, when MaxInFlight
// requests are already being served and none finishes within
// MaxInFlightWait. Under overload a queue only grows memory and latency;
// an early answer lets the caller back off and keeps the requests in
// flight fast. The short wait absorbs a burst's seconds whose requests
// arrive a little faster than they are served: a slot frees every few
// milliseconds then, and the waiters, at most the arrivals of one
// MaxInFlightWait, hold little memory. Unless the listener bounds the
// connections, the refusal also closes its connection (as proxies'
// overload managers turn keep-alive off): an open-loop client such as a
// load balancer opens a connection for every request it has outstanding,
// and kept alive, each one the refusals leave idle holds its buffers and
// goroutine in the server for HTTP_IDLE_TIMEOUT. With the bound, keeping
// it spares both sides a new connection for the caller's retry.
func (s *Server) shedLoad(next http.Handler) http.Handler {
	if s.slots == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if probes[routeName(r)] {
			next.ServeHTTP(w, r)
			return
		}
		waited, ok := s.takeSlot(r.Context())
		if !ok {
			s.obs.Shed()
			if !s.opts.ConnectionsBounded {
				w.Header().Set("Connection", "close")
			}
			s.writeError(w, r, errOverloaded)
			return
		}
		defer func() { <-s.slots }()
		if waited > 0 {
			// bound counts the wait as part of the request's time.
			r = r.WithContext(context.WithValue(r.Context(), waitedKey{}, waited))
		}
		next.ServeHTTP(w, r)
	})
}

// waitedKey holds how long a request waited for its slot.
type waitedKey struct{}

// takeSlot takes one of the MaxInFlight slots, waiting up to
// MaxInFlightWait for one to free, and reports whether it got one and how
// long it waited.
func (s *Server) takeSlot(ctx context.Context) (time.Duration, bool) {
	select {
	case s.slots <- struct{}{}:
		return 0, true
	default:
	}
	if s.opts.MaxInFlightWait <= 0 {
		return 0, false
	}
	start := time.Now()
	t := time.NewTimer(s.opts.MaxInFlightWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return time.Since(start), true
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, false
}
