package app

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/httpapi"
)

// TestStaleRoutesAreReadOnlyRoutes: every route the replica may serve
// exists, under that name, and answers GET alone, so that a rename cannot
// silently send its reads back to the primary or a write route get marked.
func TestStaleRoutesAreReadOnlyRoutes(t *testing.T) {
	methods := map[string][]string{}
	err := httpapi.New(httpapi.Options{}).Router().Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if name := r.GetName(); name != "" {
			ms, _ := r.GetMethods()
			methods[name] = ms
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range staleRoutes {
		ms, ok := methods[name]
		if !ok {
			t.Errorf("stale route %q is not a route", name)
			continue
		}
		if len(ms) == 0 || slices.ContainsFunc(ms, func(m string) bool { return m != http.MethodGet && m != http.MethodHead }) {
			t.Errorf("stale route %q answers %v, want GET only", name, ms)
		}
	}
	for _, name := range []string{"register", "validate_captcha", "select_winners", "redraw", "rules_set", "captcha_status", "winner_status", "winners"} {
		if staleRoutes[name] {
			t.Errorf("%s is marked stale", name)
		}
	}
}
