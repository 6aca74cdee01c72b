package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
)

// TestConnectionBound: with HTTP_MAX_CONNECTIONS open, a request on a new
// connection is answered 503 SERVICE_UNAVAILABLE with Retry-After before
// the handlers and counted, while health probes still pass on the API
// port and are served on the metrics port too.
func TestConnectionBound(t *testing.T) {
	a := testenv.StartService(t, "HTTP_MAX_CONNECTIONS=2")
	addr := strings.TrimPrefix(a.URL, "http://")
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	send := func(c net.Conn, path string) *http.Response {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: participant\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		return resp
	}
	// Two connections the server holds, kept busy: each has started a
	// request it has not finished sending.
	for range 2 {
		fmt.Fprint(dial(), "GET /api/participants/captcha-status/1 HTTP/1.1\r\n")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(scrapeText(t, "http://"+a.MetricsAddr()+"/metrics"), "participant_http_connections 2") {
		if time.Now().After(deadline) {
			t.Fatalf("the two connections never showed as open:\n%s", grep(scrapeText(t, "http://"+a.MetricsAddr()+"/metrics"), "participant_http_"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	resp := send(dial(), "/api/participants/captcha-status/1")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !resp.Close ||
		!strings.Contains(string(body), `"error_code":"SERVICE_UNAVAILABLE"`) {
		t.Fatalf("at the bound: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp := send(dial(), "/health/live"); resp.StatusCode != http.StatusOK {
		t.Fatalf("probe on the API port at the bound: %d", resp.StatusCode)
	}
	for _, p := range []string{"/health/live", "/health/ready", "/health"} {
		r, err := http.Get("http://" + a.MetricsAddr() + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s on the metrics port: %d", p, r.StatusCode)
		}
	}
	m := scrapeText(t, "http://"+a.MetricsAddr()+"/metrics")
	for _, want := range []string{"participant_http_connections_refused_total 1", "participant_http_max_connections 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(m, "participant_http_"))
		}
	}
}
