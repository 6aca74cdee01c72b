// Package client is a typed Go client of the Telegive participant service
// API. It imports nothing from the service's internals, so other services
// and tools can depend on it.
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
	"strings"
	"time"
)

// Client calls one participant service.
type Client struct {
	base         *url.URL
	http         *http.Client
	serviceName  string
	serviceToken string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the transport; the default has a 30 s timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithServiceToken sends X-Service-Token on every request.
func WithServiceToken(token string) Option { return func(c *Client) { c.serviceToken = token } }

// WithServiceName sends X-Service-Name on every request.
func WithServiceName(name string) Option { return func(c *Client) { c.serviceName = name } }

// New returns a client of the service at baseURL, such as
// "http://participant-service:8004".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not an http(s) base URL", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Error is a failure answered by the service: its status, error_code and
// message.
type Error struct {
	Status  int
	Code    string `json:"error_code"`
	Message string `json:"error"`
	// RetryAfter is set when the service said when to retry.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("participant service: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsCode reports whether err is an *Error with the given error_code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// do sends a request and decodes a successful JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send performs a request and returns the response of a 2xx answer; any
// other answer becomes an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.serviceName != "" {
		req.Header.Set("X-Service-Name", c.serviceName)
	}
	if c.serviceToken != "" {
		req.Header.Set("X-Service-Token", c.serviceToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, e) != nil || e.Code == "" {
		e.Code, e.Message = "HTTP_"+fmt.Sprint(resp.StatusCode), strings.TrimSpace(string(data))
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		var secs int
		if _, err := fmt.Sscan(s, &secs); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return nil, e
}
