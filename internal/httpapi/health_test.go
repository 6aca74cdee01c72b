package httpapi_test

import (
	"net/http"
	"testing"
)

func TestHealthEndpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		h.do("GET", "/health/live", nil).expect(t, http.StatusOK, "")
		ready := h.do("GET", "/health/ready", nil).expect(t, http.StatusOK, "")
		if ready.str("status") != "ready" {
			t.Fatalf("ready: %s", ready.raw)
		}
		full := h.do("GET", "/health", nil).expect(t, http.StatusOK, "")
		if full.str("status") != "healthy" || full.str("service") != "participant-service" || full.str("version") != "test" ||
			full.str("timestamp") == "" || full.body["checks"].(map[string]any)["database"].(map[string]any)["status"] != "ok" {
			t.Fatalf("health: %s", full.raw)
		}

		// The database goes away: readiness and health fail, liveness holds.
		h.store.Close()
		h.do("GET", "/health/live", nil).expect(t, http.StatusOK, "")
		if r := h.do("GET", "/health/ready", nil); r.status != http.StatusServiceUnavailable {
			t.Fatalf("ready without a database: %d %s", r.status, r.raw)
		}
		un := h.do("GET", "/health", nil)
		if un.status != http.StatusServiceUnavailable || un.str("status") != "unhealthy" {
			t.Fatalf("health without a database: %d %s", un.status, un.raw)
		}
		if db := un.body["checks"].(map[string]any)["database"].(map[string]any); db["error"] != "unavailable" {
			t.Fatalf("the database error must be a safe summary: %v", db)
		}
	})
}

func TestReadinessDropsWhenDraining(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.do("GET", "/health/ready", nil).expect(t, http.StatusOK, "")
	h.api.Drain()
	if r := h.do("GET", "/health/ready", nil); r.status != http.StatusServiceUnavailable || r.str("status") != "shutting_down" {
		t.Fatalf("draining ready: %d %s", r.status, r.raw)
	}
	h.do("GET", "/health/live", nil).expect(t, http.StatusOK, "")
	// Requests are still served while draining.
	h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 2}).expect(t, http.StatusOK, "")
}
