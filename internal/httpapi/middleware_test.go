package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicsBecomeSafe500s: a panic deep in a handler is logged and
// answered with a generic body that reveals nothing.
func TestPanicsBecomeSafe500s(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	h := s.recoverPanics(s.logRequests(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("pq: relation \"participants\" does not exist SELECT * FROM participants")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/participants/1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["success"] != false || body["error_code"] != "INTERNAL_ERROR" || strings.Contains(rec.Body.String(), "SELECT") ||
		strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("unsafe 500 body: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "panic serving request") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestRequestIDIsKeptOrMadeUp(t *testing.T) {
	s := New(Options{})
	h := s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, c := range []struct{ in, want string }{{"abc-123", "abc-123"}, {"bad id\n", ""}, {"", ""}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Request-ID", c.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if c.want != "" && got != c.want || c.want == "" && (got == "" || got == c.in) {
			t.Fatalf("X-Request-ID %q became %q", c.in, got)
		}
	}
}

// TestPanicIsLoggedOnItsRoute: a request that panics gets a request log
// line like any other, with its route, its 500 and INTERNAL_ERROR, and the
// panic's own line names the route too.
func TestPanicIsLoggedOnItsRoute(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	s.router.Handle("/boom/{n}", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).Name("boom")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/boom/1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	var request, panicked map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch m["msg"] {
		case "request":
			request = m
		case "panic serving request":
			panicked = m
		}
	}
	if request == nil || request["route"] != "boom" || request["route_template"] != "/boom/{n}" ||
		request["status"] != float64(500) || request["error_code"] != "INTERNAL_ERROR" {
		t.Errorf("request log line %v, want route boom, route_template /boom/{n}, status 500, INTERNAL_ERROR", request)
	}
	if panicked == nil || panicked["route"] != "boom" {
		t.Errorf("panic log line %v, want route boom", panicked)
	}
}
