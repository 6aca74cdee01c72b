package app

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/store"
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

// TestMarkStale: the public reads a stale route's answer from the replica;
// a caller with a service token reads a draw's state from the primary
// (the giveaway service after its own select-winners), and lists from
// the replica like everyone; routes that are not stale never go there.
func TestMarkStale(t *testing.T) {
	r := mux.NewRouter()
	var stale bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stale = store.StaleAllowed(r.Context()) })
	r.Handle("/draw", h).Name("draw")
	r.Handle("/proof", h).Name("draw_proof")
	r.Handle("/count", h).Name("count")
	r.Handle("/winners", h).Name("winners")
	r.Use(markStale)
	for _, tc := range []struct {
		path  string
		token bool
		want  bool
	}{
		{"/draw", false, true},
		{"/draw", true, false},
		{"/proof", false, true},
		{"/proof", true, false},
		{"/count", false, true},
		{"/count", true, true},
		{"/winners", false, false},
		{"/winners", true, false},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token {
			req.Header.Set("X-Service-Token", "giveaway-secret")
		}
		stale = !tc.want
		r.ServeHTTP(httptest.NewRecorder(), req)
		if stale != tc.want {
			t.Errorf("%s with a token %v: stale reads allowed %v, want %v", tc.path, tc.token, stale, tc.want)
		}
	}
}
