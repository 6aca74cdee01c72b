package httpapi_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/auth"
)

// requestLines returns the request log lines written so far, decoded.
func (h *harness) requestLines() []map[string]any {
	h.t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

// lastRequestLine is the request log line of the request just answered.
func (h *harness) lastRequestLine(id string) map[string]any {
	h.t.Helper()
	for _, l := range h.requestLines() {
		if l["request_id"] == id {
			return l
		}
	}
	h.t.Fatalf("no request log line for request %s in %s", id, h.logs.String())
	return nil
}

// TestRequestLogSaysWhyARequestFailed: the request log line alone names
// the route template, the error code of a failed request and the caller
// that the token authenticated, so an operator needs nothing else to see
// who was refused and why. A 413 is logged on the route it was sent to.
func TestRequestLogSaysWhyARequestFailed(t *testing.T) {
	h := newHarness(t, "sqlite", authOption(auth.ModePermissive))
	for _, c := range []struct {
		name, method, path, body, token string
		status                          int
		route, template, code, caller   string
	}{
		{"validation", "GET", "/api/participants/1?page=0", "", giveawayToken, 400,
			"list", "/api/participants/{giveaway_id}", "INVALID_PAGE", "giveaway"},
		{"forbidden", "POST", "/api/participants/1/select-winners", "{}", botToken, 403,
			"select_winners", "/api/participants/{giveaway_id}/select-winners", "FORBIDDEN", "bot"},
		{"wrong token", "GET", "/api/participants/1/count", "", "not-a-real-token-000000", 401,
			"count", "/api/participants/{giveaway_id}/count", "AUTH_INVALID", ""},
		{"anonymous", "GET", "/api/participants/captcha-status/x", "", "", 400,
			"captcha_status", "/api/participants/captcha-status/{user_id}", "INVALID_USER_ID", "anonymous"},
		{"too large", "POST", "/api/participants/register", strings.Repeat("x", 2<<20), botToken, 413,
			"register", "/api/participants/register", "PAYLOAD_TOO_LARGE", ""},
		{"no route", "GET", "/api/participants/1/nothing", "", botToken, 404,
			"unmatched", "", "NOT_FOUND", ""},
		{"success", "GET", "/api/participants/1/count", "", giveawayToken, 200,
			"count", "/api/participants/{giveaway_id}/count", "", "giveaway"},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := map[string]string{"X-Request-ID": "log-" + strings.ReplaceAll(c.name, " ", "-"), "X-Service-Name": "telegive-giveaway"}
			if c.token != "" {
				headers["X-Service-Token"] = c.token
			}
			r := h.send(c.method, c.path, c.body, headers)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.raw)
			}
			line := h.lastRequestLine(headers["X-Request-ID"])
			str := func(k string) string { s, _ := line[k].(string); return s }
			if str("route") != c.route || str("route_template") != c.template || str("error_code") != c.code ||
				str("caller") != c.caller || str("service_name") != "telegive-giveaway" {
				t.Errorf("log line %v: want route %q, route_template %q, error_code %q, caller %q, service_name telegive-giveaway",
					line, c.route, c.template, c.code, c.caller)
			}
			if c.status >= 400 && str("error") == "" {
				t.Errorf("log line of a %d has no error message: %v", c.status, line)
			}
			if _, ok := line["error_code"]; c.status < 400 && ok {
				t.Errorf("log line of a success has an error_code: %v", line)
			}
		})
	}
	if n := len(h.requestLines()); n < 7 {
		t.Fatalf("only %d request log lines", n)
	}
}
