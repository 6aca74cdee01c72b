package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestEveryRouteIsReachable walks the route table: every route has a
// unique name and method+template, and a request built from its template
// reaches that route and no other (the old service had two handlers for
// one path).
func TestEveryRouteIsReachable(t *testing.T) {
	h := newHarness(t, "sqlite")
	router := h.api.Router()
	seen := map[string]string{}
	n := 0
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		name := route.GetName()
		tpl, err := route.GetPathTemplate()
		if err != nil || name == "" {
			return nil // prefixes of subrouters
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			key := m + " " + tpl
			if other, dup := seen[key]; dup {
				t.Errorf("%s is served by both %s and %s", key, other, name)
			}
			seen[key] = name
			path := strings.NewReplacer("{giveaway_id}", "12", "{user_id}", "34", "{giveaway_id:[0-9]+}", "12", "{file}", "app.js").Replace(tpl)
			var match mux.RouteMatch
			if !router.Match(httptest.NewRequest(m, path, nil), &match) || match.Route == nil || match.Route.GetName() != name {
				got := "nothing"
				if match.Route != nil {
					got = match.Route.GetName()
				}
				t.Errorf("%s %s reaches %s, want %s", m, path, got, name)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 22 {
		t.Fatalf("walked only %d method+route pairs: %v", n, seen)
	}
	for _, want := range []string{
		"POST /api/participants/register", "POST /api/participants/validate-captcha",
		"GET /api/participants/captcha-status/{user_id}", "GET /api/participants/winner-status/{user_id}/{giveaway_id}",
		"POST /api/participants/verify-subscription", "PUT /api/participants/update-delivery-status",
		"POST /api/participants/{giveaway_id}/select-winners", "POST /api/participants/select-winners/{giveaway_id}",
		"GET /api/participants/{giveaway_id}", "GET /api/participants/list/{giveaway_id}",
		"GET /api/participants/{giveaway_id}/count", "GET /api/participants/{giveaway_id}/stats",
		"GET /api/participants/{giveaway_id}/winners", "GET /api/participants/history/{user_id}",
		"GET /api/participants/{giveaway_id}/draw", "GET /api/participants/{giveaway_id}/draw/proof/{user_id}",
		"POST /api/participants/{giveaway_id}/redraw", "GET /health", "GET /health/live", "GET /health/ready",
	} {
		if _, ok := seen[want]; !ok {
			t.Errorf("missing route %s", want)
		}
	}
}

// TestEncodedSlashStaysInItsSegment: %2F does not split a segment, so
// /api/participants/2%2Fcount is a giveaway id that is not a number, not
// the count of giveaway 2 (which a proxy rule would not expect).
func TestEncodedSlashStaysInItsSegment(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.do("GET", "/api/participants/2/count", nil).expect(t, http.StatusOK, "")
	for _, path := range []string{"/api/participants/2%2Fcount", "/api/participants/2%2fcount"} {
		if r := h.do("GET", path, nil); r.status == http.StatusOK {
			t.Errorf("GET %s = 200 %s; the encoded slash was taken as a separator", path, r.raw)
		}
	}
}
