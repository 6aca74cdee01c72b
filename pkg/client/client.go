// Package client is a typed Go client of the Telegive participant service
// API (see the OpenAPI description served at /openapi.json). It imports
// nothing from the service's internals, so other services and tools can
// depend on it.
//
// Calls that are safe to repeat (reads, select-winners, redraw, the draw
// commitment) are retried on network errors, 429, 502, 503 and 504 with
// exponential backoff and jitter; the others are sent once.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/signing"
)

// Client calls one participant service.
type Client struct {
	base         *url.URL
	http         *http.Client
	serviceName  string
	serviceToken string
	sign         bool
	retries      uint
	maxWait      time.Duration
	now          func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the transport; the default has a 30 s timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout sets the default client's timeout per attempt.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.http.Timeout = d } }

// WithServiceToken sends X-Service-Token on every request.
func WithServiceToken(token string) Option { return func(c *Client) { c.serviceToken = token } }

// WithSigning signs every request with the service token (X-Timestamp and
// X-Signature), as services with REQUIRE_SIGNATURES demand.
func WithSigning() Option { return func(c *Client) { c.sign = true } }

// WithServiceName sends X-Service-Name on every request.
func WithServiceName(name string) Option { return func(c *Client) { c.serviceName = name } }

// WithRetries sets how many times a repeatable call is retried (default 2)
// and the longest it waits between attempts (default 5 s).
func WithRetries(n uint, maxWait time.Duration) Option {
	return func(c *Client) { c.retries, c.maxWait = n, maxWait }
}

// New returns a client of the service at baseURL, such as
// "http://participant-service:8004".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not an http(s) base URL", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}, retries: 2, maxWait: 5 * time.Second, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.sign && c.serviceToken == "" {
		return nil, errors.New("client: signing needs a service token")
	}
	return c, nil
}

// Error is a failure answered by the service: its api.ErrorBody with the
// HTTP status.
type Error struct {
	Status           int
	Code             string
	Message          string
	ValidationErrors []ValidationError
	// ParticipantID is set on DUPLICATE_PARTICIPATION.
	ParticipantID int64
	// ChannelInfo is set on USER_NOT_SUBSCRIBED.
	ChannelInfo *Channel
	// RetryAfter is set when the service said when to retry.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("participant service: %d %s: %s", e.Status, e.Code, e.Message)
}

// Error codes the service answers with.
const (
	CodeInvalidJSON         = "INVALID_JSON"
	CodeInvalidAnswerFormat = "INVALID_ANSWER_FORMAT"
	CodeGiveawayNotFound    = "GIVEAWAY_NOT_FOUND"
	CodeGiveawayNotActive   = "GIVEAWAY_NOT_ACTIVE"
	CodeDuplicate           = "DUPLICATE_PARTICIPATION"
	CodeNotSubscribed       = "USER_NOT_SUBSCRIBED"
	CodeCaptchaNotFound     = "CAPTCHA_NOT_FOUND"
	CodeCaptchaExpired      = "CAPTCHA_EXPIRED"
	CodeCaptchaMismatch     = "CAPTCHA_SESSION_MISMATCH"
	CodeTooManyAttempts     = "TOO_MANY_ATTEMPTS"
	CodeParticipantNotFound = "PARTICIPANT_NOT_FOUND"
	CodeDrawNotFound        = "DRAW_NOT_FOUND"
	CodeDrawNotCompleted    = "DRAW_NOT_COMPLETED"
	CodeNotAWinner          = "NOT_A_WINNER"
	CodeChannelNotFound     = "CHANNEL_NOT_FOUND"
	CodeBotTokenMissing     = "BOT_TOKEN_MISSING"
	CodeTelegramAPI         = "TELEGRAM_API_ERROR"
	CodeServiceUnavailable  = "SERVICE_UNAVAILABLE"
	CodeAuthRequired        = "AUTH_REQUIRED"
	CodeAuthInvalid         = "AUTH_INVALID"
	CodeForbidden           = "FORBIDDEN"
	CodeRateLimited         = "RATE_LIMITED"
	CodePayloadTooLarge     = "PAYLOAD_TOO_LARGE"
	CodeInternal            = "INTERNAL_ERROR"
)

// IsCode reports whether err is an *Error with the given error_code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// call describes one request.
type call struct {
	method, path string
	query        url.Values
	body         any
	// repeatable calls may be retried.
	repeatable bool
}

// do sends a call and decodes a successful JSON answer into out. An answer
// that takes one of several shapes is decoded into out and each of more,
// for the caller to tell which shape it is.
func (c *Client) do(ctx context.Context, cl call, out any, more ...any) error {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&raw)
	for _, v := range append([]any{out}, more...) {
		if err == nil {
			err = json.Unmarshal(raw, v)
		}
	}
	if err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", cl.method, cl.path, err)
	}
	return nil
}

// send performs a call, retrying it when it is repeatable, and returns the
// response of a 2xx answer; any other answer becomes an *Error.
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
	}
	tries := uint(1)
	if cl.repeatable {
		tries += c.retries
	}
	b := &backoff.ExponentialBackOff{InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: c.maxWait}
	// The service refuses a signature it has seen, and a signature covers
	// the timestamp in whole seconds: each attempt gets a later one.
	var lastTS int64
	resp, err := backoff.Retry(ctx, func() (*http.Response, error) {
		ts := max(c.now().Unix(), lastTS+1)
		lastTS = ts
		resp, err := c.attempt(ctx, cl, body, ts)
		var e *Error
		switch {
		case errors.As(err, &e) && retryable(e.Status):
			// A wait longer than we are willing to back off is the
			// caller's decision, not ours.
			if e.RetryAfter > c.maxWait {
				return nil, backoff.Permanent(err)
			}
			return nil, err
		case e != nil:
			return nil, backoff.Permanent(err)
		case err != nil && ctx.Err() != nil:
			return nil, backoff.Permanent(err)
		}
		return resp, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(tries))
	// Callers get the service's *Error itself, not the retry wrapper.
	var pe *backoff.PermanentError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return resp, err
}

func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (c *Client) attempt(ctx context.Context, cl call, body []byte, ts int64) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + cl.path
	u.RawQuery = cl.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.serviceName != "" {
		req.Header.Set("X-Service-Name", c.serviceName)
	}
	if c.serviceToken != "" {
		req.Header.Set("X-Service-Token", c.serviceToken)
	}
	if c.sign {
		req.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Signature", signing.Sign(c.serviceToken, cl.method, req.URL.RequestURI(), ts, body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var answer api.ErrorBody
	err = json.Unmarshal(data, &answer)
	e := &Error{Status: resp.StatusCode, Code: answer.Code, Message: answer.Message, ValidationErrors: answer.ValidationErrors,
		ParticipantID: answer.ParticipantID, ChannelInfo: answer.ChannelInfo}
	if err != nil || e.Code == "" {
		e.Code, e.Message = "HTTP_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(data))
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return nil, e
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
