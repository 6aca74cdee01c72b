package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/telegive/participant-service/internal/httpapi"
)

// TestRefusalIsTheShedAnswer: the response written at the connection
// bound is a whole HTTP/1.1 503 with the shed answer's code, Retry-After
// and headers, and it closes its connection.
func TestRefusalIsTheShedAnswer(t *testing.T) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(httpapi.Refusal())), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Success    *bool  `json:"success"`
		Error      string `json:"error"`
		Code       string `json:"error_code"`
		RetryAfter int    `json:"retry_after"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("refusal: %d, Close %v, headers %v", resp.StatusCode, resp.Close, resp.Header)
	}
	if body.Success == nil || *body.Success || body.Code != "SERVICE_UNAVAILABLE" || body.RetryAfter != 1 || body.Error == "" {
		t.Errorf("refusal body %s", raw)
	}
}

func TestIsProbe(t *testing.T) {
	for line, want := range map[string]bool{
		"GET /health HTTP/1.1":                    true,
		"GET /health/live HTTP/1.1":               true,
		"HEAD /health/ready HTTP/1.1":             true,
		"GET /health/ready?x=1 HTTP/1.1":          true,
		"POST /health HTTP/1.1":                   false,
		"GET /healthz HTTP/1.1":                   false,
		"GET /health/live/x HTTP/1.1":             false,
		"GET /api/participants/register HTTP/1.1": false,
		"GET": false,
		"":    false,
	} {
		if got := httpapi.IsProbe([]byte(line)); got != want {
			t.Errorf("IsProbe(%q) = %v, want %v", line, got, want)
		}
	}
}
