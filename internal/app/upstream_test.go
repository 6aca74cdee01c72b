package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
)

// TestOpenBreakerAnswersAtOnceAndShowsInHealth: a failing giveaway service
// opens its breaker; registrations then get 503 with Retry-After without a
// call, and /health reports the breaker without calling the service.
func TestOpenBreakerAnswersAtOnceAndShowsInHealth(t *testing.T) {
	var calls atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer bot.Close()
	base := testenv.StartService(t, "TELEGIVE_GIVEAWAY_URL="+down.URL,
		"UPSTREAM_BREAKER_FAILURES=2", "UPSTREAM_RETRIES=0", "UPSTREAM_BREAKER_OPEN=60", "TELEGIVE_BOT_URL="+bot.URL).URL
	post := func() *http.Response {
		resp, err := http.Post(base+"/api/participants/register", "application/json", strings.NewReader(`{"giveaway_id": 1, "user_id": 2}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	post()
	post()
	before := calls.Load()
	start := time.Now()
	resp := post()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("open breaker: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if calls.Load() != before || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("the open breaker called the service or was slow")
	}
	code, body := get(t, base+"/health")
	checks := body["checks"].(map[string]any)
	gs := checks["giveaway_service"].(map[string]any)
	if code != http.StatusOK || body["status"] != "degraded" || gs["status"] != "down" || gs["details"].(map[string]any)["breaker"] != "open" {
		t.Fatalf("health: %d %v", code, body)
	}
	if calls.Load() != before {
		t.Fatalf("/health called the upstream")
	}
	if _, ok := checks["bot_service"]; !ok {
		t.Fatalf("the bot service is not watched: %v", checks)
	}
}

// TestUpstreamRedirectsAreRefused: upstreams that answer with a redirect
// to another host fail the request as if they were down. The other host
// hears nothing (neither AUTH_SERVICE_TOKEN nor a Referer holding the bot
// token), a registration is not let through on its answer, the breakers
// and metrics count the redirects, and the logs hold no token.
func TestUpstreamRedirectsAreRefused(t *testing.T) {
	const (
		svcToken = "svc-secret-token"
		botToken = "123456:SECRET-bot-token"
	)
	var mu sync.Mutex
	var heard []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		heard = append(heard, r.URL.RequestURI()+" Referer="+r.Referer()+" X-Service-Token="+r.Header.Get("X-Service-Token"))
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/giveaways/"):
			_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 1, "status": "active", "account_id": 9, "winner_count": 1}}`))
		default:
			_, _ = w.Write([]byte(`{"ok": true, "result": {"status": "member"}}`))
		}
	}))
	defer elsewhere.Close()
	upstreams := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/channels/account/9":
			_, _ = w.Write([]byte(`{"success": true, "channel": {"telegram_id": -1001234, "channel_username": "chan", "channel_title": "Chan"}}`))
		case r.URL.Path == "/api/auth/bot-token/9":
			_, _ = w.Write([]byte(`{"success": true, "bot_token": "` + botToken + `"}`))
		default: // the giveaway service and Telegram have moved
			http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
		}
	}))
	defer upstreams.Close()
	logs := &testenv.Logs{}
	a := testenv.StartServiceWithLogs(t, logs, "TELEGIVE_GIVEAWAY_URL="+upstreams.URL, "TELEGIVE_CHANNEL_URL="+upstreams.URL,
		"TELEGIVE_AUTH_URL="+upstreams.URL, "TELEGRAM_API_BASE="+upstreams.URL, "AUTH_SERVICE_TOKEN="+svcToken,
		"UPSTREAM_RETRIES=2", "UPSTREAM_BREAKER_FAILURES=1", "UPSTREAM_BREAKER_OPEN=60")

	post := func(path, body string) (int, map[string]any) {
		resp, err := http.Post(a.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, body := post("/api/participants/register", `{"giveaway_id": 1, "user_id": 2}`); code != http.StatusServiceUnavailable || body["error_code"] != "SERVICE_UNAVAILABLE" {
		t.Fatalf("register with a redirecting giveaway service: %d %v, want 503 SERVICE_UNAVAILABLE", code, body)
	}
	if code, body := post("/api/participants/verify-subscription", `{"user_id": 77, "account_id": 9}`); code != http.StatusBadGateway || body["error_code"] != "TELEGRAM_API_ERROR" {
		t.Fatalf("verify-subscription with a redirecting Telegram: %d %v, want 502 TELEGRAM_API_ERROR", code, body)
	}
	mu.Lock()
	got := append([]string(nil), heard...)
	mu.Unlock()
	if len(got) != 0 {
		t.Fatalf("the host redirected to received %d requests: %q", len(got), got)
	}

	_, health := get(t, a.URL+"/health")
	checks, _ := health["checks"].(map[string]any)
	for _, name := range []string{"giveaway_service", "telegram_service"} {
		c, _ := checks[name].(map[string]any)
		details, _ := c["details"].(map[string]any)
		if c["status"] != "down" || details["breaker"] != "open" {
			t.Fatalf("%s after a redirect with UPSTREAM_BREAKER_FAILURES=1: %v", name, c)
		}
	}
	resp, err := http.Get("http://" + a.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, svc := range []string{"giveaway", "telegram"} {
		// One attempt each: a redirect is not retried.
		if line := `participant_upstream_requests_total{outcome="redirect",service="` + svc + `"} 1`; !strings.Contains(string(metrics), line+"\n") {
			t.Fatalf("metrics lack %s", line)
		}
	}
	l := logs.String()
	if strings.Contains(l, svcToken) || strings.Contains(l, botToken) || strings.Contains(l, "/bot") {
		t.Fatalf("the logs leak a token or the Telegram path: %s", l)
	}
	if !strings.Contains(l, "upstream answered with a redirect; not followed") {
		t.Fatalf("the refused redirects are not logged: %s", l)
	}
}
