package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
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
