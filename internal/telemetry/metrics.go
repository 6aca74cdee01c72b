// Package telemetry exports the service's Prometheus metrics and
// OpenTelemetry traces, and puts trace ids in log lines. Other packages do
// not import it: they report through small observer interfaces and hooks,
// which this package implements, and cmd wiring connects the two.
package telemetry

import (
	"context"
	"database/sql"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "participant"

// Metrics holds every metric of the service on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	registrations *prometheus.CounterVec
	captcha       *prometheus.CounterVec
	draws         *prometheus.CounterVec
	drawDuration  prometheus.Histogram
	drawEntrants  prometheus.Histogram
	redraws       *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	shed          prometheus.Counter
	connRefused   prometheus.Counter
	authFailures  *prometheus.CounterVec
	anonymous     *prometheus.CounterVec
	upstream      *prometheus.CounterVec
	upstreamTime  *prometheus.HistogramVec
	redisErrors   *prometheus.CounterVec
	replicaReads  *prometheus.CounterVec
	draw          *drawMetrics
}

// NewMetrics registers the metrics, the Go and process collectors, build
// information and the memory limit.
func NewMetrics(version, revision string, memoryLimit int64) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f(prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)).(*prometheus.CounterVec)
	}
	m := &Metrics{reg: reg}
	m.requests = counter("http_requests_total", "Requests answered, by route, method and status class.", "route", "method", "status")
	m.duration = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds", Help: "Time to answer a request.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10},
	}, []string{"route", "method"})).(*prometheus.HistogramVec)
	m.inFlight = f(prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "http_requests_in_flight", Help: "Requests being served."})).(prometheus.Gauge)
	m.registrations = counter("registrations_total", "Register calls by outcome.", "result")
	m.captcha = counter("captcha_attempts_total", "Captcha answers by outcome.", "result")
	m.draws = counter("draws_total", "Select-winners calls by outcome.", "result")
	m.drawDuration = f(prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "draw_duration_seconds", Help: "Time of a fresh draw.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	})).(prometheus.Histogram)
	m.drawEntrants = f(prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "draw_entrants", Help: "Entrants per fresh draw.",
		Buckets: prometheus.ExponentialBuckets(1, 10, 8),
	})).(prometheus.Histogram)
	m.redraws = counter("redraws_total", "Redraw calls by outcome.", "result")
	m.rateLimited = counter("rate_limited_total", "Requests refused with 429, by budget.", "kind")
	m.shed = f(prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_shed_total",
		Help: "Requests refused with 503 because MAX_IN_FLIGHT were being served."})).(prometheus.Counter)
	m.connRefused = f(prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "http_connections_refused_total",
		Help: "Requests refused with 503 on arrival because HTTP_MAX_CONNECTIONS connections were open."})).(prometheus.Counter)
	m.authFailures = counter("auth_failures_total", "Requests refused with 401 or 403.", "reason")
	m.anonymous = counter("anonymous_requests_total", "Requests without a token accepted in permissive mode.", "route")
	m.upstream = counter("upstream_requests_total", "Upstream call attempts by outcome.", "service", "outcome")
	m.upstreamTime = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "upstream_request_duration_seconds", Help: "Duration of an upstream call attempt.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"service"})).(*prometheus.HistogramVec)
	m.redisErrors = counter("redis_errors_total", "Redis failures the service degraded around.", "use")
	m.replicaReads = newReplicaReads(reg)
	m.draw = newDrawMetrics(reg)

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "Build information; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})).(prometheus.Gauge).Set(1)
	f(prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "memory_limit_bytes", Help: "The container's memory limit; 0 when unlimited.",
	})).(prometheus.Gauge).Set(float64(memoryLimit))
	// Create every series of the bounded label sets at zero, so that rates
	// and ratios exist before the first event.
	for vec, values := range map[*prometheus.CounterVec][]string{
		m.registrations: {"registered", "captcha_required", "duplicate", "not_active", "not_found", "not_subscribed",
			"captcha_limited", "rate_limited", "invalid", "unavailable", "error"},
		m.captcha:      {"correct", "wrong", "expired", "not_found", "invalid_format", "mismatch", "limited", "rate_limited", "error"},
		m.draws:        {"drawn", "already_drawn", "error"},
		m.redraws:      {"redrawn", "already_applied", "error"},
		m.rateLimited:  {"caller", "user", "public"},
		m.authFailures: {"required", "invalid", "forbidden"},
		m.redisErrors:  {"ratelimit", "cache"},
	} {
		for _, v := range values {
			vec.WithLabelValues(v)
		}
	}
	return m
}

// Registry returns the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// The methods below implement httpapi.Observer.

// RequestStarted counts a request in flight.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestFinished records an answered request.
func (m *Metrics) RequestFinished(route, method string, status int, d time.Duration) {
	m.inFlight.Dec()
	m.requests.WithLabelValues(route, method, strconv.Itoa(status/100)+"xx").Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RateLimited counts a 429.
func (m *Metrics) RateLimited(kind string) { m.rateLimited.WithLabelValues(kind).Inc() }

// Shed counts a request refused for overload.
func (m *Metrics) Shed() { m.shed.Inc() }

// ConnectionRefused records a request refused at HTTP_MAX_CONNECTIONS.
func (m *Metrics) ConnectionRefused() { m.connRefused.Inc() }

// WatchHTTPConnections exports the API connections open, read from open
// at each scrape, and their bound.
func (m *Metrics) WatchHTTPConnections(open func() int, bound int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "http_connections",
		Help: "API connections open."}, func() float64 { return float64(open()) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "http_max_connections",
		Help: "HTTP_MAX_CONNECTIONS: the API connections open at most."}, func() float64 { return float64(bound) }))
}

// AuthFailed counts a 401 or 403.
func (m *Metrics) AuthFailed(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

// AnonymousCall counts a tokenless call accepted in permissive mode.
func (m *Metrics) AnonymousCall(route string) { m.anonymous.WithLabelValues(route).Inc() }

// Registration counts a register outcome.
func (m *Metrics) Registration(result string) { m.registrations.WithLabelValues(result).Inc() }

// CaptchaAttempt counts a validate-captcha outcome.
func (m *Metrics) CaptchaAttempt(result string) { m.captcha.WithLabelValues(result).Inc() }

// Draw counts a select-winners outcome; fresh draws also record their
// duration and size.
func (m *Metrics) Draw(result string, entrants int64, d time.Duration) {
	m.draws.WithLabelValues(result).Inc()
	if result == "drawn" {
		m.drawDuration.Observe(d.Seconds())
		m.drawEntrants.Observe(float64(entrants))
	}
}

// Redraw counts a redraw outcome.
func (m *Metrics) Redraw(result string) { m.redraws.WithLabelValues(result).Inc() }

// UpstreamAttempt records one upstream call attempt.
func (m *Metrics) UpstreamAttempt(service, outcome string, d time.Duration) {
	m.upstream.WithLabelValues(service, outcome).Inc()
	if outcome != "rejected" {
		m.upstreamTime.WithLabelValues(service).Observe(d.Seconds())
	}
}

// RedisError counts a Redis failure the service degraded around.
func (m *Metrics) RedisError(use string) { m.redisErrors.WithLabelValues(use).Inc() }

// WatchDBPool exports the database pool, read at scrape time.
func (m *Metrics) WatchDBPool(stats func() sql.DBStats) {
	m.reg.MustRegister(&dbPool{stats: stats})
}

var (
	dbMaxOpen  = desc("db_pool_max_open_connections", "The pool's maximum open connections.")
	dbOpen     = desc("db_pool_open_connections", "Open connections.")
	dbInUse    = desc("db_pool_in_use_connections", "Connections in use.")
	dbIdle     = desc("db_pool_idle_connections", "Idle connections.")
	dbWaits    = desc("db_pool_wait_count_total", "Times a query waited for a connection.")
	dbWaitTime = desc("db_pool_wait_duration_seconds_total", "Time spent waiting for a connection.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

type dbPool struct{ stats func() sql.DBStats }

func (d *dbPool) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{dbMaxOpen, dbOpen, dbInUse, dbIdle, dbWaits, dbWaitTime} {
		ch <- x
	}
}

func (d *dbPool) Collect(ch chan<- prometheus.Metric) {
	s := d.stats()
	ch <- prometheus.MustNewConstMetric(dbMaxOpen, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(dbOpen, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(dbInUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(dbIdle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(dbWaits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(dbWaitTime, prometheus.CounterValue, s.WaitDuration.Seconds())
}

// RedisPoolStats is the part of the Redis pool the metrics show.
type RedisPoolStats struct {
	Total, Idle, Timeouts uint32
}

// WatchRedisPool exports the Redis pool, read at scrape time.
func (m *Metrics) WatchRedisPool(stats func() RedisPoolStats) {
	m.reg.MustRegister(&redisPool{stats: stats})
}

var (
	redisTotal    = desc("redis_pool_total_connections", "Redis connections.")
	redisIdle     = desc("redis_pool_idle_connections", "Idle Redis connections.")
	redisTimeouts = desc("redis_pool_timeouts_total", "Waits for a Redis connection that timed out.")
)

type redisPool struct{ stats func() RedisPoolStats }

func (r *redisPool) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisTotal
	ch <- redisIdle
	ch <- redisTimeouts
}

func (r *redisPool) Collect(ch chan<- prometheus.Metric) {
	s := r.stats()
	ch <- prometheus.MustNewConstMetric(redisTotal, prometheus.GaugeValue, float64(s.Total))
	ch <- prometheus.MustNewConstMetric(redisIdle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(redisTimeouts, prometheus.CounterValue, float64(s.Timeouts))
}

// WatchDependencies exports participant_dependency_up from check, which
// runs the health checks (bounded by their own timeouts) at scrape time.
func (m *Metrics) WatchDependencies(check func(ctx context.Context) map[string]bool) {
	m.reg.MustRegister(&dependencies{check: check})
}

var dependencyUp = desc("dependency_up", "1 when the dependency's health check passes.", "dependency")

type dependencies struct {
	check func(context.Context) map[string]bool
}

func (d *dependencies) Describe(ch chan<- *prometheus.Desc) { ch <- dependencyUp }

func (d *dependencies) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, up := range d.check(ctx) {
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(dependencyUp, prometheus.GaugeValue, v, name)
	}
}

// WatchBreaker exports an upstream's circuit breaker state: 0 closed, 1
// half-open, 2 open.
func (m *Metrics) WatchBreaker(service string, state func() string) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "upstream_breaker_state", Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		ConstLabels: prometheus.Labels{"service": service},
	}, func() float64 { return breakerValue(state()) }))
}
