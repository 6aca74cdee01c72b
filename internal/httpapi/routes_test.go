package httpapi_test

import (
	"encoding/json"
	"io"
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

// send makes one request without following redirects, holds the answer to
// the OpenAPI description, and returns it with its body.
func (h *harness) send(method, path string, body string, headers map[string]string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkAgainstSpec(h.t, req, resp, raw)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			h.t.Fatalf("%s %s: undecodable body %.300q: %v", method, path, raw, err)
		}
	}
	return r
}

// TestUncleanPathsAreNotRedirected: a path with an empty, "." or ".."
// segment is answered with a JSON 404, never with a redirect that a client
// would follow with a GET and an empty body.
func TestUncleanPathsAreNotRedirected(t *testing.T) {
	h := newHarness(t, "sqlite")
	for _, c := range []struct{ method, path string }{
		{"GET", "//api/participants/42"},
		{"POST", "/api/participants/./register"},
		{"GET", "/api/participants/1/../1/count"},
		{"GET", "/api//participants/1"},
		{"GET", "/api/participants/1/."},
		{"GET", "/health/../health"},
		{"GET", "/draws/./12"},
	} {
		r := h.send(c.method, c.path, `{"giveaway_id": 1, "user_id": 5}`, map[string]string{"Content-Type": "application/json"})
		if r.status != http.StatusNotFound || r.header.Get("Location") != "" {
			t.Errorf("%s %s = %d (Location %q), want 404 without a redirect; body %q", c.method, c.path, r.status, r.header.Get("Location"), r.raw)
			continue
		}
		r.expect(t, http.StatusNotFound, "NOT_FOUND")
		if !strings.Contains(r.str("error"), "segment") {
			t.Errorf("%s %s: the error %q does not say what is wrong with the path", c.method, c.path, r.str("error"))
		}
	}
	// The clean forms still answer.
	h.send("GET", "/api/participants/1/count", "", nil).expect(t, http.StatusOK, "")
}

// TestRootPointsToTheAPI: the bare host answers a JSON 404 that names the
// API description and the draw page.
func TestRootPointsToTheAPI(t *testing.T) {
	h := newHarness(t, "sqlite")
	r := h.send("GET", "/", "", nil).expect(t, http.StatusNotFound, "NOT_FOUND")
	for _, want := range []string{"/openapi.json", "/draws/{giveaway_id}"} {
		if !strings.Contains(r.str("error"), want) {
			t.Errorf("GET / says %q, which does not point to %s", r.str("error"), want)
		}
	}
}

// TestDrawPageErrors: a bad draw page address shows a browser an HTML
// page and an API client JSON; a missing asset is a JSON 404, not the
// file server's plain text.
func TestDrawPageErrors(t *testing.T) {
	h := newHarness(t, "sqlite")
	browser := map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

	r := h.send("GET", "/draws/abc", "", browser)
	if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.raw), "<html") || !strings.Contains(string(r.raw), "/draws/") {
		t.Errorf("GET /draws/abc in a browser = %d %q: %.200s", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the HTML error page has no content security policy: %q", csp)
	}
	h.send("GET", "/draws/abc", "", nil).expect(t, http.StatusNotFound, "NOT_FOUND")
	h.send("GET", "/draws/12/", "", nil).expect(t, http.StatusNotFound, "NOT_FOUND")

	for _, path := range []string{"/draws/assets/missing.js", "/draws/assets/index.html", "/draws/assets/%2e%2e", "/draws/assets/..%2fweb.go"} {
		r := h.send("GET", path, "", map[string]string{"Accept": "*/*"})
		if r.status != http.StatusNotFound || r.header.Get("Location") != "" {
			t.Errorf("GET %s = %d (Location %q): %.200q", path, r.status, r.header.Get("Location"), r.raw)
			continue
		}
		r.expect(t, http.StatusNotFound, "NOT_FOUND")
	}
	// What exists is still served, with its type.
	if r := h.send("GET", "/draws/assets/app.js", "", nil); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /draws/assets/app.js = %d %q", r.status, r.header.Get("Content-Type"))
	}
	if r := h.send("GET", "/draws/12", "", browser); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /draws/12 = %d %q", r.status, r.header.Get("Content-Type"))
	}
}

// TestEveryAnswerIsNosniff: browsers are told not to guess the type of any
// answer of the API port: JSON, errors before and after routing, streams,
// pages and probes.
func TestEveryAnswerIsNosniff(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.join(1, 5)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/health/live", "", 200},
		{"GET", "/openapi.json", "", 200},
		{"GET", "/api/participants/1", "", 200},
		{"GET", "/api/participants/1/export?format=csv", "", 200},
		{"GET", "/draws/12", "", 200},
		{"GET", "/draws/assets/style.css", "", 200},
		{"GET", "/", "", 404},
		{"GET", "//api/participants/1", "", 404},
		{"GET", "/api/participants/abc", "", 400},
		{"DELETE", "/api/participants/1", "", 405},
		{"POST", "/api/participants/register", strings.Repeat("x", 2<<20), 413},
	} {
		r := h.send(c.method, c.path, c.body, nil)
		if r.status != c.status || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s = %d with X-Content-Type-Options %q; want %d with nosniff", c.method, c.path, r.status,
				r.header.Get("X-Content-Type-Options"), c.status)
		}
	}
}
