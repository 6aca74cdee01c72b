package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/telegive/participant-service/pkg/api"
)

// Refusal is the whole HTTP/1.1 response for a request refused before it
// reaches the server, at the connection bound (HTTP_MAX_CONNECTIONS): the
// 503 SERVICE_UNAVAILABLE with Retry-After a request shed at MaxInFlight
// gets, with the same body and headers, closing its connection.
func Refusal() []byte {
	e := errOverloaded
	secs := int(e.RetryAfter.Seconds() + 0.999)
	var body bytes.Buffer
	_ = json.NewEncoder(&body).Encode(api.ErrorBody{Message: e.Message, Code: string(e.Code), RetryAfter: secs})
	resp := &http.Response{
		StatusCode: statusOf[e.Code], ProtoMajor: 1, ProtoMinor: 1, Close: true,
		Header: http.Header{
			"Content-Type":           {"application/json; charset=utf-8"},
			"Cache-Control":          {"no-store"},
			"X-Content-Type-Options": {"nosniff"},
			"Retry-After":            {strconv.Itoa(secs)},
		},
		ContentLength: int64(body.Len()),
		Body:          io.NopCloser(&body),
	}
	var out bytes.Buffer
	_ = resp.Write(&out)
	return out.Bytes()
}

// HealthPaths are the health endpoints' paths, which kubelet probes.
var HealthPaths = []string{"/health", "/health/live", "/health/ready"}

// IsProbe reports whether an HTTP/1.1 request line ("GET /health/live
// HTTP/1.1") asks for a health endpoint, which load shedding and the
// connection bound never refuse.
func IsProbe(requestLine []byte) bool {
	method, rest, ok := bytes.Cut(requestLine, []byte(" "))
	if !ok || (string(method) != http.MethodGet && string(method) != http.MethodHead) {
		return false
	}
	target, _, _ := bytes.Cut(rest, []byte(" "))
	target, _, _ = bytes.Cut(target, []byte("?"))
	return slices.Contains(HealthPaths, string(target))
}
