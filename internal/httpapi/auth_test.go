package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/pkg/signing"
)

const (
	botToken      = "bot-secret-token-0001"
	giveawayToken = "giveaway-secret-token-0001"
	adminToken    = "admin-secret-token-0001"
)

// routeScopes is the intended authorization of every route: who may call
// it. "public" routes need nothing. A route missing here fails the test, so
// a new route has to state its scope.
var routeScopes = map[string][]string{
	"health": {"public"}, "health_live": {"public"}, "health_ready": {"public"}, "openapi": {"public"},
	"draw": {"public"}, "draw_proof": {"public"}, "draw_winner_proofs": {"public"},
	"draw_page": {"public"}, "draw_page_assets": {"public"}, "rules": {"public"}, "rules_set": {"giveaway"},
	"eligibility":    {"bot", "giveaway"},
	"log_checkpoint": {"public"}, "log_key": {"public"}, "log_entries": {"public"},
	"log_inclusion_proof": {"public"}, "log_consistency_proof": {"public"},
	"register": {"bot"}, "validate_captcha": {"bot"}, "captcha_status": {"bot"}, "winner_status": {"bot"},
	"verify_subscription": {"bot"}, "update_delivery_status": {"bot"}, "history": {"bot", "giveaway"},
	"select_winners": {"giveaway"}, "select_winners_legacy": {"giveaway"}, "list": {"giveaway"}, "list_legacy": {"giveaway"},
	"redraw": {"giveaway"}, "draw_commit": {"giveaway"}, "draw_entrants": {"giveaway"}, "count": {"giveaway"},
	"stats": {"giveaway"}, "winners": {"giveaway"}, "export": {"giveaway"},
	"admin_stats": {"admin"}, "admin_cleanup": {"admin"},
}

func authOption(mode auth.Mode) harnessOption {
	return withAPI(func(o *httpapi.Options) {
		tokens, err := auth.LoadTokens("bot:"+botToken+",giveaway:"+giveawayToken+",admin:"+adminToken, "", "")
		if err != nil {
			panic(err)
		}
		o.Auth = auth.New(auth.Options{Tokens: tokens, Mode: mode})
	})
}

// TestAuthorizationMatrix sends every route every kind of credentials in
// every mode and checks the answer against routeScopes.
func TestAuthorizationMatrix(t *testing.T) {
	callers := map[string]string{"none": "", "wrong": "not-a-real-token-000000", "bot": botToken, "giveaway": giveawayToken, "admin": adminToken}
	for _, mode := range []auth.Mode{auth.ModeRequired, auth.ModePermissive, auth.ModeOff} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, "sqlite", authOption(mode))
			n := 0
			_ = h.api.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
				name := route.GetName()
				tpl, err := route.GetPathTemplate()
				if err != nil || name == "" {
					return nil
				}
				scopes, ok := routeScopes[name]
				if !ok {
					t.Errorf("route %s has no expected scope in routeScopes", name)
					return nil
				}
				methods, _ := route.GetMethods()
				path := strings.NewReplacer("{giveaway_id}", "12", "{user_id}", "34", "{giveaway_id:[0-9]+}", "12", "{file}", "app.js").Replace(tpl)
				for callerName, token := range callers {
					headers := map[string]string{}
					if token != "" {
						headers["X-Service-Token"] = token
					}
					r := h.doWith(methods[0], path, "{}", headers)
					n++
					want := expectedAuth(mode, scopes, callerName)
					got := ""
					if r.status == 401 || r.status == 403 {
						got = r.str("error_code")
					}
					if got != want {
						t.Errorf("%s %s as %s: got %d %q, want %q", methods[0], path, callerName, r.status, got, want)
					}
					if r.status >= 500 {
						t.Errorf("%s %s as %s: %d %s", methods[0], path, callerName, r.status, r.raw)
					}
				}
				return nil
			})
			if n < 100 {
				t.Fatalf("only %d requests made", n)
			}
		})
	}
}

// expectedAuth is the auth error code the matrix expects, or "" for none.
func expectedAuth(mode auth.Mode, scopes []string, caller string) string {
	if scopes[0] == "public" || mode == auth.ModeOff {
		return ""
	}
	if caller == "wrong" {
		return "AUTH_INVALID"
	}
	if caller == "none" {
		if mode == auth.ModePermissive && scopes[0] != "admin" {
			return ""
		}
		return "AUTH_REQUIRED"
	}
	for _, s := range scopes {
		if s == caller || caller == "admin" {
			return ""
		}
	}
	return "FORBIDDEN"
}

// TestSignedRequestsOverHTTP: a signed request passes once; its replay and
// a stale one are refused.
func TestSignedRequestsOverHTTP(t *testing.T) {
	h := newHarness(t, "sqlite", authOption(auth.ModeRequired))
	body := `{"giveaway_id": 5, "user_id": 6}`
	sign := func(ts int64) map[string]string {
		return map[string]string{
			"X-Service-Token": botToken,
			"X-Timestamp":     strconv.FormatInt(ts, 10),
			"X-Signature":     signing.Sign(botToken, "POST", "/api/participants/register", ts, []byte(body)),
		}
	}
	now := time.Now().Unix()
	headers := sign(now)
	h.doWith("POST", "/api/participants/register", body, headers).expect(t, http.StatusOK, "")
	h.doWith("POST", "/api/participants/register", body, headers).expect(t, http.StatusUnauthorized, "AUTH_INVALID")
	h.doWith("POST", "/api/participants/register", body, sign(now-600)).expect(t, http.StatusUnauthorized, "AUTH_INVALID")
	tampered := sign(now - 1)
	h.doWith("POST", "/api/participants/register", `{"giveaway_id": 5, "user_id": 7}`, tampered).
		expect(t, http.StatusUnauthorized, "AUTH_INVALID")
	if strings.Contains(h.logs.String(), botToken) {
		t.Fatal("a token reached the logs")
	}
}

// TestSignatureStoreDown: when the database that remembers signatures
// cannot be reached, a signed request is answered 503 (try again), not
// let through unchecked and not 500.
func TestSignatureStoreDown(t *testing.T) {
	down := auth.NoncesFunc(func(context.Context, string, time.Duration) (bool, error) {
		return false, fmt.Errorf("store: remember a request signature: %w", participant.ErrUnavailable)
	})
	h := newHarness(t, "sqlite", withAPI(func(o *httpapi.Options) {
		tokens, _ := auth.LoadTokens("bot:"+botToken, "", "")
		o.Auth = auth.New(auth.Options{Tokens: tokens, Mode: auth.ModeRequired, Nonces: down})
	}))
	body := `{"giveaway_id": 5, "user_id": 6}`
	ts := time.Now().Unix()
	r := h.doWith("POST", "/api/participants/register", body, map[string]string{
		"X-Service-Token": botToken,
		"X-Timestamp":     strconv.FormatInt(ts, 10),
		"X-Signature":     signing.Sign(botToken, "POST", "/api/participants/register", ts, []byte(body)),
	}).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}

// TestRateLimits: the caller budget, the per-user budget on register, and
// the headers; the same with the callers' budgets charged in leases, as
// with Redis, which a budget this small makes exact.
func TestRateLimits(t *testing.T) {
	for _, leased := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "leased"}[leased], func(t *testing.T) {
			testRateLimits(t, leased)
		})
	}
}

func testRateLimits(t *testing.T, leased bool) {
	limiter, callers := ratelimit.NewMemory(nil), ratelimit.NewMemory(nil)
	h := newHarness(t, "sqlite", authOption(auth.ModeRequired), withAPI(func(o *httpapi.Options) {
		o.Limiter = limiter
		if leased {
			// Wired as the app wires it: the lease inside a fail-open.
			o.CallerLimiter = &ratelimit.FailOpen{Limiter: ratelimit.NewLeased(callers, ratelimit.LeaseOptions{})}
		}
		o.Limits = httpapi.Limits{Caller: ratelimit.Per(8, time.Hour), User: ratelimit.Per(3, time.Hour), Public: ratelimit.Per(2, time.Hour)}
	}))
	bot := map[string]string{"X-Service-Token": botToken}
	for i := range 3 {
		r := h.doWith("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 9}, bot).expect(t, http.StatusOK, "")
		if r.header.Get("X-RateLimit-Limit") != "8" || r.header.Get("X-RateLimit-Remaining") != strconv.Itoa(7-i) {
			t.Fatalf("headers after %d: %v", i+1, r.header)
		}
	}
	// The fourth registration by the same Telegram user is over its budget.
	limited := h.doWith("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 9}, bot).
		expect(t, http.StatusTooManyRequests, "RATE_LIMITED")
	if limited.header.Get("Retry-After") == "" || limited.num("retry_after") < 1 {
		t.Fatalf("429 without Retry-After: %v %s", limited.header, limited.raw)
	}
	// Other users still get through until the caller's budget of 8 is spent
	// (the refused request counted against it too).
	for u := int64(10); u < 14; u++ {
		h.doWith("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": u}, bot).expect(t, http.StatusOK, "")
	}
	h.doWith("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 20}, bot).
		expect(t, http.StatusTooManyRequests, "RATE_LIMITED")
	// Another caller has its own budget; the public endpoints are per address.
	h.doWith("GET", "/api/participants/1/count", nil, map[string]string{"X-Service-Token": giveawayToken}).expect(t, http.StatusOK, "")
	h.do("GET", "/api/participants/1/draw", nil).expect(t, http.StatusNotFound, "DRAW_NOT_FOUND")
	h.do("GET", "/api/participants/1/draw", nil).expect(t, http.StatusNotFound, "DRAW_NOT_FOUND")
	h.do("GET", "/api/participants/1/draw", nil).expect(t, http.StatusTooManyRequests, "RATE_LIMITED")
	h.do("GET", "/health", nil).expect(t, http.StatusOK, "")
	if leased {
		// The bot's budget was charged through CallerLimiter alone.
		spent, _ := callers.Allow(context.Background(), "caller:bot", ratelimit.Per(8, time.Hour))
		fresh, _ := limiter.Allow(context.Background(), "caller:bot", ratelimit.Per(8, time.Hour))
		if spent.Allowed || !fresh.Allowed || fresh.Remaining != 7 {
			t.Fatalf("caller budget: CallerLimiter allowed %v, Limiter %+v; want it charged on CallerLimiter only", spent.Allowed, fresh)
		}
	}
}

// TestHTTPSOnlyAndCORS: plain HTTP is refused outside health checks, HSTS
// is set, and CORS follows the configured origins.
func TestHTTPSOnlyAndCORS(t *testing.T) {
	h := newHarness(t, "sqlite", withAPI(func(o *httpapi.Options) {
		o.HTTPSOnly = true
		o.CORSOrigins = []string{"https://telegive.example"}
	}))
	h.do("GET", "/api/participants/1/count", nil).expect(t, http.StatusForbidden, "HTTPS_REQUIRED")
	r := h.doWith("GET", "/api/participants/1/count", nil, map[string]string{"X-Forwarded-Proto": "https"}).expect(t, http.StatusOK, "")
	if !strings.HasPrefix(r.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("no HSTS: %v", r.header)
	}
	h.do("GET", "/health/ready", nil).expect(t, http.StatusOK, "")

	pre := h.doWith("OPTIONS", "/api/participants/1/draw", nil, map[string]string{
		"Origin": "https://telegive.example", "Access-Control-Request-Method": "GET", "X-Forwarded-Proto": "https"})
	if pre.header.Get("Access-Control-Allow-Origin") != "https://telegive.example" {
		t.Fatalf("preflight from an allowed origin: %d %v", pre.status, pre.header)
	}
	other := h.doWith("GET", "/api/participants/1/draw", nil, map[string]string{"Origin": "https://evil.example", "X-Forwarded-Proto": "https"})
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin was allowed: %v", other.header)
	}
}

// TestAdminEndpoints: stats and cleanup, which deletes only stale
// challenges.
func TestAdminEndpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend, authOption(auth.ModePermissive))
		admin := map[string]string{"X-Service-Token": adminToken}
		h.do("GET", "/admin/stats", nil).expect(t, http.StatusUnauthorized, "AUTH_REQUIRED")
		h.join(1, 100)
		for u := int64(1); u <= 3; u++ {
			h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": u}).expect(t, http.StatusOK, "")
		}
		st := h.doWith("GET", "/admin/stats", nil, admin).expect(t, http.StatusOK, "")
		stats := st.body["stats"].(map[string]any)
		if stats["participants"].(float64) != 1 || stats["pending_captcha_challenges"].(float64) != 3 ||
			stats["captcha_completed_users"].(float64) != 1 || stats["giveaways"].(float64) != 1 {
			t.Fatalf("stats: %s", st.raw)
		}
		if r := h.doWith("POST", "/admin/cleanup", nil, admin).expect(t, http.StatusOK, ""); r.num("deleted_challenges") != 0 {
			t.Fatalf("live challenges were deleted: %s", r.raw)
		}
		h.clock.Advance(2 * time.Hour)
		if r := h.doWith("POST", "/admin/cleanup", nil, admin).expect(t, http.StatusOK, ""); r.num("deleted_challenges") != 4 {
			t.Fatalf("cleanup after two hours: %s", r.raw)
		}
	})
}
