// Package drand fetches drand beacons from relays over drand's HTTP relay
// API and verifies each one locally with pkg/beacon, so no relay is
// trusted: a relay can only fail to answer, never change a beacon.
//
// Relays are tried in turn, each attempt bounded by a timeout and each
// relay behind its own circuit breaker. A beacon whose signature does not
// verify is never used: it is logged, counted as "invalid" and the next
// relay is asked. The randomness is computed locally as SHA-256 of the
// signature; a relay's randomness field is never read.
package drand

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"github.com/telegive/participant-service/pkg/beacon"
)

// Outcomes of an attempt, as passed to Options.OnAttempt.
const (
	// OutcomeOK is a verified beacon, or a valid chain info.
	OutcomeOK = "ok"
	// OutcomeInvalid is an answer that failed verification: a bad
	// signature, another round, an undecodable body, or an /info that is
	// invalid or names another chain.
	OutcomeInvalid = "invalid"
	// OutcomeNotYet is a 404 for a round whose time has come: relays lag
	// a little behind the round's time.
	OutcomeNotYet = "not_yet"
	// OutcomeError is a transport failure, a redirect or any other
	// status.
	OutcomeError = "error"
	// OutcomeTimeout is an attempt that outlasted Options.Timeout.
	OutcomeTimeout = "timeout"
	// OutcomeRejected is an attempt the relay's open breaker refused
	// without calling.
	OutcomeRejected = "rejected"
	// OutcomeCanceled is an attempt cut short because the caller's
	// context ended; it says nothing about the relay.
	OutcomeCanceled = "canceled"
)

// ErrNotYet is wrapped by a *NotYetError.
var ErrNotYet = errors.New("drand: the round's time has not come")

// ErrUnavailable is wrapped by an *UnavailableError.
var ErrUnavailable = errors.New("drand: no relay gave a valid answer")

// NotYetError is a round not asked for because its time, by the client's
// clock, has not come.
type NotYetError struct {
	Round uint64
	// Time is when the round is published.
	Time time.Time
	// Err is the context's error when Wait gave up before Time; nil from
	// Beacon.
	Err error
}

func (e *NotYetError) Error() string {
	s := fmt.Sprintf("drand: round %d is not published until %s", e.Round, e.Time.UTC().Format(time.RFC3339))
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrNotYet) hold.
func (e *NotYetError) Is(target error) bool { return target == ErrNotYet }

// Unwrap returns the context's error, if any.
func (e *NotYetError) Unwrap() error { return e.Err }

// UnavailableError is a beacon (or, with Round 0, a chain info) that no
// relay gave, validly, before the context ended.
type UnavailableError struct {
	// Round is the round asked for; 0 when resolving the chain info.
	Round uint64
	// Failures holds each relay's last failure.
	Failures map[string]string
	// Err is why the client stopped trying: the context's error.
	Err error
}

func (e *UnavailableError) Error() string {
	what := "the chain info"
	if e.Round != 0 {
		what = "round " + strconv.FormatUint(e.Round, 10)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "drand: no relay gave a valid answer for %s", what)
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	for _, name := range slices.Sorted(maps.Keys(e.Failures)) {
		fmt.Fprintf(&b, "; %s: %s", name, e.Failures[name])
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the context's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Options configure a Client.
type Options struct {
	// Chain is the pinned chain; it must pass Validate. Set either Chain
	// or ChainHash.
	Chain beacon.Chain
	// ChainHash pins only the chain hash: the chain info is then fetched
	// from the relays on first use ("resolved") and accepted only if it
	// passes Validate and its hash equals ChainHash.
	ChainHash []byte
	// Relays are the base URLs of drand HTTP relays (http or https).
	Relays []string
	// Timeout bounds each attempt; 3 s when zero.
	Timeout time.Duration
	// HTTPClient is the transport; a pooled client when nil. Redirects
	// are never followed, whatever its CheckRedirect says: a 3xx answer
	// is a failed attempt.
	HTTPClient *http.Client
	// BreakerFailures consecutive failures open a relay's breaker, for
	// BreakerOpen; 5 and 30 s when zero.
	BreakerFailures int
	BreakerOpen     time.Duration
	// OnAttempt, when set, hears every attempt: the relay, its outcome
	// (one of the Outcome constants) and its duration.
	OnAttempt func(relay, outcome string, d time.Duration)
	// OnStateChange, when set, hears every breaker transition (closed,
	// half-open, open).
	OnStateChange func(relay, from, to string)
	Logger        *slog.Logger
	// Now and Sleep are the clock that decides whether a round is due,
	// and that Wait sleeps on; the system clock when nil. Sleep must
	// return the context's error if it ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client fetches verified beacons of one chain from its relays. It is
// safe for concurrent use.
type Client struct {
	opts   Options
	hash   []byte
	relays []*relay
	client *http.Client
	next   atomic.Uint64

	mu    sync.Mutex
	chain *beacon.Chain // nil until resolved
}

// relay is one relay with its breaker.
type relay struct {
	name    string // the URL without credentials, for logs and metrics
	base    string
	breaker *gobreaker.CircuitBreaker[struct{}]
}

// maxBodyBytes bounds what is read from a relay: a beacon or an info is a
// few hundred bytes.
const maxBodyBytes = 64 << 10

// New returns a client, or an error naming what is wrong with o.
func New(o Options) (*Client, error) {
	o = o.withDefaults()
	c := &Client{opts: o}
	switch {
	case o.Chain.Hash != nil && o.ChainHash != nil:
		return nil, errors.New("drand: set Chain or ChainHash, not both")
	case o.Chain.Hash != nil:
		if err := o.Chain.Validate(); err != nil {
			return nil, fmt.Errorf("drand: pinned chain: %w", err)
		}
		chain := o.Chain
		c.chain = &chain
		c.hash = chain.Hash
	case len(o.ChainHash) == beacon.HashSize:
		c.hash = bytes.Clone(o.ChainHash)
	case o.ChainHash != nil:
		return nil, fmt.Errorf("drand: chain hash is %d bytes, expected %d", len(o.ChainHash), beacon.HashSize)
	default:
		return nil, errors.New("drand: no chain pinned")
	}
	if len(o.Relays) == 0 {
		return nil, errors.New("drand: no relays")
	}
	seen := map[string]bool{}
	for _, raw := range o.Relays {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("drand: relay %q is not an http(s) base URL", raw)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		name := u.Redacted()
		if seen[name] {
			return nil, fmt.Errorf("drand: relay %s is listed twice", name)
		}
		seen[name] = true
		c.relays = append(c.relays, c.newRelay(name, u.String()))
	}
	hc := *o.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.client = &hc
	return c, nil
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConns:        20,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		}}
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
	if o.OnAttempt == nil {
		o.OnAttempt = func(string, string, time.Duration) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (c *Client) newRelay(name, base string) *relay {
	o := c.opts
	return &relay{name: name, base: base, breaker: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     o.BreakerOpen,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(o.BreakerFailures) },
		// A round not published yet, or a caller that gave up, says
		// nothing about the relay's health.
		IsExcluded: func(err error) bool {
			var a *attemptError
			return errors.As(err, &a) && (a.outcome == OutcomeNotYet || a.outcome == OutcomeCanceled)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			o.Logger.Warn("drand relay circuit breaker changed state", "relay", name, "from", from.String(), "to", to.String())
			if o.OnStateChange != nil {
				o.OnStateChange(name, from.String(), to.String())
			}
		},
	})}
}

// Breakers returns each relay's breaker state (closed, half-open or open),
// for health reports.
func (c *Client) Breakers() map[string]string {
	out := make(map[string]string, len(c.relays))
	for _, r := range c.relays {
		out[r.name] = r.breaker.State().String()
	}
	return out
}

// attemptError is a failed attempt with its outcome.
type attemptError struct {
	outcome string
	err     error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func failed(outcome string, format string, args ...any) *attemptError {
	return &attemptError{outcome: outcome, err: fmt.Errorf(format, args...)}
}

// errRetry tells the retry loop that every relay failed this pass.
var errRetry = errors.New("drand: every relay failed")

// newBackOff paces passes over the relays: short, since a round just due
// is usually on the relays within a second.
func newBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     200 * time.Millisecond,
		RandomizationFactor: 0.5,
		Multiplier:          1.5,
		MaxInterval:         2 * time.Second,
	}
}

// Chain returns the pinned chain, resolving it from the relays first when
// only its hash was pinned. A resolved info is accepted only if it passes
// Validate and its hash is the pinned one; until one is, every relay is
// tried in turn, with backoff, until ctx ends (then an *UnavailableError).
func (c *Client) Chain(ctx context.Context) (beacon.Chain, error) {
	c.mu.Lock()
	chain := c.chain
	c.mu.Unlock()
	if chain != nil {
		return *chain, nil
	}
	got, err := each(ctx, c, 0, func(ctx context.Context, r *relay) (beacon.Chain, error) {
		return c.fetchInfo(ctx, r)
	})
	if err != nil {
		return beacon.Chain{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chain == nil {
		c.chain = &got
	}
	return *c.chain, nil
}

// Beacon returns round's beacon, verified against the chain. A round
// whose time has not come by the client's clock is not asked for: the
// error is a *NotYetError with the round's time. Otherwise relays are
// tried in turn, each call starting one relay further than the last, and
// passes over them repeat with short backoff until a relay gives a beacon
// that verifies or ctx ends (then an *UnavailableError).
func (c *Client) Beacon(ctx context.Context, round uint64) (beacon.Beacon, error) {
	if round == 0 {
		return beacon.Beacon{}, errors.New("drand: rounds start at 1")
	}
	chain, err := c.Chain(ctx)
	if err != nil {
		return beacon.Beacon{}, err
	}
	if at := chain.RoundTime(round); c.opts.Now().Before(at) {
		return beacon.Beacon{}, &NotYetError{Round: round, Time: at}
	}
	return each(ctx, c, round, func(ctx context.Context, r *relay) (beacon.Beacon, error) {
		return c.fetchBeacon(ctx, r, chain, round)
	})
}

// Wait sleeps until round's time by the client's clock, then returns the
// beacon as Beacon does. If ctx ends first, the error is a *NotYetError
// wrapping the context's error.
func (c *Client) Wait(ctx context.Context, round uint64) (beacon.Beacon, error) {
	if round == 0 {
		return beacon.Beacon{}, errors.New("drand: rounds start at 1")
	}
	chain, err := c.Chain(ctx)
	if err != nil {
		return beacon.Beacon{}, err
	}
	at := chain.RoundTime(round)
	for {
		d := at.Sub(c.opts.Now())
		if d <= 0 {
			break
		}
		if err := c.opts.Sleep(ctx, d); err != nil {
			return beacon.Beacon{}, &NotYetError{Round: round, Time: at, Err: err}
		}
	}
	return c.Beacon(ctx, round)
}

// each runs fetch on the relays in turn until one succeeds, passing over
// them again with backoff until ctx ends.
func each[T any](ctx context.Context, c *Client, round uint64, fetch func(context.Context, *relay) (T, error)) (T, error) {
	failures := map[string]string{}
	pass := func() (T, error) {
		start := int((c.next.Add(1) - 1) % uint64(len(c.relays)))
		for i := range c.relays {
			r := c.relays[(start+i)%len(c.relays)]
			v, err := attempt(ctx, c, r, round, fetch)
			if err == nil {
				return v, nil
			}
			// An attempt cut short by the caller says nothing about the
			// relay: keep what it did before.
			var a *attemptError
			if _, seen := failures[r.name]; !seen || !errors.As(err, &a) || a.outcome != OutcomeCanceled {
				failures[r.name] = err.Error()
			}
			if ctx.Err() != nil {
				var zero T
				return zero, backoff.Permanent(context.Cause(ctx))
			}
		}
		var zero T
		return zero, errRetry
	}
	v, err := backoff.Retry(ctx, pass, backoff.WithBackOff(newBackOff()), backoff.WithMaxElapsedTime(0))
	if err != nil {
		var zero T
		cause := context.Cause(ctx)
		if cause == nil {
			cause = err
		}
		return zero, &UnavailableError{Round: round, Failures: failures, Err: cause}
	}
	return v, nil
}

// attempt runs one fetch from r through its breaker, under the attempt
// timeout, and reports it.
func attempt[T any](ctx context.Context, c *Client, r *relay, round uint64, fetch func(context.Context, *relay) (T, error)) (T, error) {
	start := time.Now()
	var v T
	_, err := r.breaker.Execute(func() (struct{}, error) {
		actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		var err error
		v, err = fetch(actx, r)
		if err != nil && ctx.Err() != nil {
			err = failed(OutcomeCanceled, "%v", context.Cause(ctx))
		} else if err != nil && actx.Err() != nil {
			err = failed(OutcomeTimeout, "no answer within %v", c.opts.Timeout)
		}
		return struct{}{}, err
	})
	outcome := OutcomeOK
	var a *attemptError
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		outcome = OutcomeRejected
		err = failed(OutcomeRejected, "circuit breaker open")
	case errors.As(err, &a):
		outcome = a.outcome
	case err != nil:
		outcome = OutcomeError
	}
	d := time.Since(start)
	if outcome == OutcomeRejected {
		d = 0
	}
	c.opts.OnAttempt(r.name, outcome, d)
	log := c.opts.Logger
	switch outcome {
	case OutcomeOK:
	case OutcomeInvalid:
		log.Warn("drand relay gave an invalid answer", "relay", r.name, "round", round, "error", err)
	case OutcomeNotYet, OutcomeRejected, OutcomeCanceled:
		log.Debug("drand relay attempt failed", "relay", r.name, "round", round, "outcome", outcome, "error", err)
	default:
		log.Info("drand relay attempt failed", "relay", r.name, "round", round, "outcome", outcome, "error", err)
	}
	return v, err
}

// get reads path from r. Any answer but 200 is a failed attempt: 404 with
// the outcome notFound, 3xx (never followed) and the rest OutcomeError.
func (c *Client) get(ctx context.Context, r *relay, path, notFound string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return nil, failed(OutcomeError, "bad request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the relay is named already
		}
		return nil, failed(OutcomeError, "%v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return nil, failed(notFound, "status 404")
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, failed(OutcomeError, "redirect refused (status %d)", resp.StatusCode)
	default:
		return nil, failed(OutcomeError, "status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, failed(OutcomeError, "reading the answer: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, failed(OutcomeInvalid, "answer longer than %d bytes", maxBodyBytes)
	}
	return body, nil
}

// fetchInfo reads r's /info of the pinned hash and accepts it only if it
// is valid and names the pinned chain.
func (c *Client) fetchInfo(ctx context.Context, r *relay) (beacon.Chain, error) {
	body, err := c.get(ctx, r, "/"+hex.EncodeToString(c.hash)+"/info", OutcomeError)
	if err != nil {
		return beacon.Chain{}, err
	}
	chain, err := beacon.ParseInfo(body)
	if err != nil {
		return beacon.Chain{}, failed(OutcomeInvalid, "chain info: %v", err)
	}
	if !bytes.Equal(chain.Hash, c.hash) {
		return beacon.Chain{}, failed(OutcomeInvalid, "chain info names chain %x, not the pinned %x", chain.Hash, c.hash)
	}
	return chain, nil
}

// publicJSON is a relay's answer for one round. Its randomness field is
// deliberately not read.
type publicJSON struct {
	Round     uint64 `json:"round"`
	Signature string `json:"signature"`
}

// fetchBeacon reads round from r and verifies it.
func (c *Client) fetchBeacon(ctx context.Context, r *relay, chain beacon.Chain, round uint64) (beacon.Beacon, error) {
	body, err := c.get(ctx, r, "/"+chain.HashHex()+"/public/"+strconv.FormatUint(round, 10), OutcomeNotYet)
	if err != nil {
		return beacon.Beacon{}, err
	}
	var p publicJSON
	if err := json.Unmarshal(body, &p); err != nil {
		return beacon.Beacon{}, failed(OutcomeInvalid, "undecodable beacon: %v", err)
	}
	if p.Round != round {
		return beacon.Beacon{}, failed(OutcomeInvalid, "asked for round %d, got round %d", round, p.Round)
	}
	sig, err := hex.DecodeString(p.Signature)
	if err != nil {
		return beacon.Beacon{}, failed(OutcomeInvalid, "signature is not hex: %v", err)
	}
	if err := chain.Verify(round, sig); err != nil {
		return beacon.Beacon{}, failed(OutcomeInvalid, "%v", err)
	}
	return beacon.Beacon{Round: round, Signature: sig, Randomness: beacon.Randomness(sig)}, nil
}
