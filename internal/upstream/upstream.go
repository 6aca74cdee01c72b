// Package upstream calls the services the participant service depends on:
// the giveaway, channel and auth services and the Telegram Bot API. Each
// call has a timeout; idempotent reads (all of them) are retried with
// exponential backoff and jitter; each service has its own circuit breaker,
// so a dead dependency is answered at once instead of waited for; answers
// are cached. No client follows a redirect: a 3xx answer is a failure, so
// our service token, and the bot token in a Telegram URL, never reach a
// host other than the configured one. Failures become domain errors whose
// messages never carry URLs or tokens.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
)

// Options configure the clients.
type Options struct {
	GiveawayURL     string
	ChannelURL      string
	AuthURL         string
	TelegramAPIBase string
	// ServiceName is sent as X-Service-Name.
	ServiceName string
	// ServiceToken is sent as X-Service-Token to the Telegive services.
	ServiceToken string
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Retries is how many times a failed read is tried again.
	Retries int
	// BreakerFailures consecutive failures open a service's breaker, for
	// BreakerOpen.
	BreakerFailures int
	BreakerOpen     time.Duration
	// Cache holds answers for CacheTTL; nil disables caching.
	Cache    cache.Cache
	CacheTTL time.Duration
	// HTTPClient is the transport; a client with sane pooling when nil.
	// The clients use a copy of it that refuses every redirect.
	HTTPClient *http.Client
	// OnStateChange, when set, hears every breaker transition.
	OnStateChange func(service, from, to string)
	// OnAttempt, when set, hears every attempt: its outcome (success,
	// client_error, server_error, redirect, timeout, unavailable, or
	// rejected by an open breaker) and duration.
	OnAttempt func(service, outcome string, d time.Duration)
	// TracerProvider traces the calls to our own services (nil: no
	// spans); Propagator passes them the trace context either way.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	Logger         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 20,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		}}
	}
	o.HTTPClient = noRedirects(o.HTTPClient)
	if o.Propagator == nil {
		o.Propagator = propagation.TraceContext{}
	}
	if o.OnAttempt == nil {
		o.OnAttempt = func(string, string, time.Duration) {}
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = 5
	}
	if o.BreakerOpen <= 0 {
		o.BreakerOpen = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// maxResponseBytes bounds what we read from an upstream, so a broken
// service cannot exhaust our memory.
const maxResponseBytes = 1 << 20

// errUnavailable marks transport failures and 5xx answers: worth a retry,
// and a failure for the breaker.
var errUnavailable = errors.New("upstream unavailable")

// errOpen is a call refused by an open breaker.
var errOpen = errors.New("circuit breaker open")

// rateLimited is a 429 answer: the upstream asks us to wait, so it is not
// retried at once, and it is a failure for the breaker (enough of them
// stop our calls for a while, which is what was asked). After is the wait
// it asked for, from Telegram's parameters.retry_after or the Retry-After
// header; zero when it named none.
type rateLimited struct{ after time.Duration }

func (e rateLimited) Error() string {
	if e.after > 0 {
		return fmt.Sprintf("rate limited (retry after %v)", e.after)
	}
	return "rate limited"
}

// retryAfter reads how long a 429 asks us to wait: Telegram puts it in
// the body's parameters.retry_after, other services in the header.
func retryAfter(h http.Header, body []byte) time.Duration {
	var tg struct {
		Parameters struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &tg) == nil && tg.Parameters.RetryAfter > 0 {
		return time.Duration(tg.Parameters.RetryAfter) * time.Second
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

// errRedirect is a 3xx answer, which is never followed: the next request
// would carry our service token, or a Referer holding a Telegram bot
// token, to a host nobody configured, and we would believe its answer. A
// redirect is a misconfiguration rather than a passing fault, so it is
// not retried; it is a failure for the breaker.
var errRedirect = errors.New("redirect refused")

// noRedirects returns a copy of c that never follows a redirect: Do
// returns the 3xx answer itself, which do turns into errRedirect. The
// caller's client is left as it was.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = refuseRedirect
	return &cp
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// response is an upstream answer whose body has been read.
type response struct {
	status int
	body   []byte
}

func (r response) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%w: undecodable answer (status %d)", errUnavailable, r.status)
	}
	return nil
}

// service is one upstream with its breaker.
type service struct {
	name    string
	base    string
	header  http.Header
	opts    Options
	client  *http.Client
	breaker *gobreaker.CircuitBreaker[response]
	// inject passes the trace context on where no traced transport does.
	inject bool
}

// newService prepares calls to one upstream. Calls to our own services
// carry our token and the trace context, and are traced; calls to
// Telegram carry neither, and are not traced, because their URL holds a
// bot token that a span would record.
func newService(name, base string, ours bool, o Options) *service {
	h := http.Header{}
	h.Set("Accept", "application/json")
	if o.ServiceName != "" {
		h.Set("X-Service-Name", o.ServiceName)
	}
	if ours && o.ServiceToken != "" {
		h.Set("X-Service-Token", o.ServiceToken)
	}
	// A copy per service, so tracing one changes no other's transport.
	client := noRedirects(o.HTTPClient)
	if ours && o.TracerProvider != nil {
		client.Transport = otelhttp.NewTransport(client.Transport,
			otelhttp.WithTracerProvider(o.TracerProvider), otelhttp.WithPropagators(o.Propagator))
	}
	s := &service{name: name, base: strings.TrimSuffix(base, "/"), header: h, opts: o, client: client,
		inject: ours && o.TracerProvider == nil}
	s.breaker = gobreaker.NewCircuitBreaker[response](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     o.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(o.BreakerFailures) },
		// A caller that gave up says nothing about the upstream.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			o.Logger.Warn("circuit breaker changed state", "upstream", name, "from", from.String(), "to", to.String())
			if o.OnStateChange != nil {
				o.OnStateChange(name, from.String(), to.String())
			}
		},
	})
	return s
}

// State is the breaker's state: closed, half-open or open.
func (s *service) State() string { return s.breaker.State().String() }

// get reads path (with its query) from the service. Transport failures and
// 5xx answers are retried with exponential backoff and full jitter;
// redirects and other answers are not; an open breaker ends the call at
// once with errOpen.
func (s *service) get(ctx context.Context, path string) (response, error) {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     100 * time.Millisecond,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         time.Second,
	}
	return backoff.Retry(ctx, func() (response, error) {
		resp, err := s.breaker.Execute(func() (response, error) { return s.attempt(ctx, path) })
		switch {
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			s.opts.OnAttempt(s.name, "rejected", 0)
			return resp, backoff.Permanent(errOpen)
		case errors.Is(err, errUnavailable):
			return resp, err
		case err != nil:
			return resp, backoff.Permanent(err)
		}
		return resp, nil
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(s.opts.Retries+1)))
}

// attempt is one call. Its errors never contain the URL: Telegram's holds
// a bot token.
func (s *service) attempt(ctx context.Context, path string) (resp response, err error) {
	start := time.Now()
	defer func() { s.opts.OnAttempt(s.name, outcome(resp, err), time.Since(start)) }()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	return s.do(ctx, path)
}

func outcome(resp response, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case resp.status >= 500:
		return "server_error"
	case resp.status == http.StatusTooManyRequests:
		return "client_error"
	case errors.Is(err, errRedirect):
		return "redirect"
	case err != nil:
		return "unavailable"
	case resp.status >= 400:
		return "client_error"
	}
	return "success"
}

func (s *service) do(ctx context.Context, path string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return response{}, errors.New("upstream: bad request URL")
	}
	req.Header = s.header.Clone()
	if s.inject {
		s.opts.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL
		}
		return response{}, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return response{}, fmt.Errorf("%w: read body: %v", errUnavailable, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Where it points says what is misconfigured (often http to
		// https); its path and query may hold a token, so only the
		// scheme and host are logged.
		to := ""
		if u, err := resp.Location(); err == nil {
			to = u.Scheme + "://" + u.Host
		}
		s.opts.Logger.WarnContext(ctx, "upstream answered with a redirect; not followed",
			"upstream", s.name, "status", resp.StatusCode, "redirect_to", to)
		return response{status: resp.StatusCode}, fmt.Errorf("%w (status %d)", errRedirect, resp.StatusCode)
	}
	if resp.StatusCode >= 500 {
		return response{status: resp.StatusCode, body: body}, fmt.Errorf("%w: status %d", errUnavailable, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return response{status: resp.StatusCode, body: body}, rateLimited{retryAfter(resp.Header, body)}
	}
	return response{status: resp.StatusCode, body: body}, nil
}

// unavailable is the domain error for a failing upstream; an open breaker
// or a 429 also says when to try again. The cause stays in Err, for the
// logs.
func (s *service) unavailable(cause error) error {
	return &participant.Error{
		Code:       participant.CodeServiceUnavailable,
		Message:    "A required service is temporarily unavailable. Please try again shortly.",
		RetryAfter: s.waitFor(cause),
		Err:        serviceError{s.name, cause},
	}
}

// waitFor is how long to wait before calling again after cause: the open
// period of an open breaker, what a 429 asked for, else nothing known.
func (s *service) waitFor(cause error) time.Duration {
	var rl rateLimited
	switch {
	case errors.Is(cause, errOpen):
		return s.opts.BreakerOpen
	case errors.As(cause, &rl):
		return rl.after
	}
	return 0
}

// serviceError names the upstream that failed, for logs.
type serviceError struct {
	service string
	cause   error
}

func (e serviceError) Error() string {
	if e.cause == nil {
		return e.service + ": unexpected answer"
	}
	return e.service + ": " + e.cause.Error()
}

func (e serviceError) Unwrap() error { return e.cause }

// cached runs load unless key holds a value, and stores what load returns
// when keep says so. Cache failures never fail the call.
func cached[T any](ctx context.Context, o Options, key string, keep func(T) bool, load func() (T, error)) (T, error) {
	if o.Cache != nil {
		if b, ok, _ := o.Cache.Get(ctx, key); ok {
			var v T
			if json.Unmarshal(b, &v) == nil {
				return v, nil
			}
		}
	}
	v, err := load()
	if err != nil || o.Cache == nil || !keep(v) {
		return v, err
	}
	if b, err := json.Marshal(v); err == nil {
		_ = o.Cache.Set(ctx, key, b, o.CacheTTL)
	}
	return v, nil
}

func always[T any](T) bool { return true }
