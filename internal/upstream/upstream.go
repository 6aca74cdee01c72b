// Package upstream calls the services the participant service depends on:
// the giveaway, channel and auth services and the Telegram Bot API. It
// turns their answers into domain values and their failures into domain
// errors whose messages never carry URLs or tokens.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Options configure the clients.
type Options struct {
	GiveawayURL     string
	ChannelURL      string
	AuthURL         string
	TelegramAPIBase string
	// ServiceName is sent as X-Service-Name.
	ServiceName string
	// ServiceToken is sent as X-Service-Token to our own services.
	ServiceToken string
	// Timeout bounds each call.
	Timeout time.Duration
	// HTTPClient is the transport; a client with sane pooling when nil.
	HTTPClient *http.Client
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 20,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}}
}

// maxResponseBytes bounds what we read from an upstream, so a broken
// service cannot exhaust our memory.
const maxResponseBytes = 1 << 20

// errUnavailable marks transport failures and 5xx answers.
var errUnavailable = errors.New("upstream unavailable")

// response is an upstream answer whose body has been read.
type response struct {
	status int
	body   []byte
}

// get calls url and reads the answer. Errors never contain the URL: the
// Telegram URL holds a bot token.
func get(ctx context.Context, c *http.Client, timeout time.Duration, rawURL string, header http.Header) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return response{}, errors.New("upstream: bad request URL")
	}
	req.Header = header.Clone()
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the URL
		}
		return response{}, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return response{}, fmt.Errorf("%w: read body: %v", errUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return response{status: resp.StatusCode, body: body}, fmt.Errorf("%w: status %d", errUnavailable, resp.StatusCode)
	}
	return response{status: resp.StatusCode, body: body}, nil
}

func (r response) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%w: undecodable answer (status %d)", errUnavailable, r.status)
	}
	return nil
}

func (o Options) header(withToken bool) http.Header {
	h := http.Header{}
	h.Set("X-Service-Name", o.ServiceName)
	if withToken && o.ServiceToken != "" {
		h.Set("X-Service-Token", o.ServiceToken)
	}
	return h
}
