package app_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/torchwood"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/telegive/participant-service/internal/app"
	"github.com/telegive/participant-service/internal/testenv"
)

// TestOneTracePerRequest: a registration produces one trace, continuing the
// caller's W3C trace context, with the server span, database queries, Redis
// commands and the upstream call, and passes the context on upstream; the
// request's log line carries the trace id.
func TestOneTracePerRequest(t *testing.T) {
	var upstreamTraceparent string
	var mu sync.Mutex
	giveaways := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamTraceparent = r.Header.Get("traceparent")
		mu.Unlock()
		_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 7, "status": "active", "account_id": 1, "winner_count": 1}}`))
	}))
	defer giveaways.Close()
	exporter := tracetest.NewInMemoryExporter()
	logs := &testenv.Logs{}
	a := testenv.StartServiceWith(t, logs, []app.Option{app.WithSpanExporter(exporter)},
		"DATABASE_URL="+testenv.PostgresSchema(t), "REDIS_URL="+testenv.RedisURL(t),
		"REDIS_KEY_PREFIX=trace-test:"+time.Now().Format("150405.000000")+":",
		"TELEGIVE_GIVEAWAY_URL="+giveaways.URL)
	exporter.Reset() // forget start-up queries

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	registerTraced(t, a.URL, "00-"+traceID+"-00f067aa0ba902b7-01")
	// The server span ends after the response is written.
	deadline := time.Now().Add(2 * time.Second)
	var kinds map[string]int
	for {
		kinds = map[string]int{}
		for _, s := range exporter.GetSpans() {
			if s.SpanContext.TraceID().String() != traceID {
				continue // connection dials and other work outside the request
			}
			switch {
			case s.SpanKind == trace.SpanKindServer:
				if s.Name != "POST /api/participants/register" {
					t.Fatalf("server span named %q", s.Name)
				}
				kinds["server"]++
			case attr(s.Attributes, "db.system") == "postgresql" || strings.HasPrefix(s.InstrumentationScope.Name, "github.com/uptrace/bun"):
				kinds["database"]++
			case strings.Contains(s.InstrumentationScope.Name, "redis"):
				kinds["redis"]++
			case s.SpanKind == trace.SpanKindClient && strings.Contains(s.InstrumentationScope.Name, "otelhttp"):
				kinds["upstream"]++
			}
		}
		if kinds["server"] == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if kinds["server"] != 1 || kinds["database"] == 0 || kinds["redis"] == 0 || kinds["upstream"] == 0 {
		var names []string
		for _, s := range exporter.GetSpans() {
			names = append(names, s.Name+" ["+s.InstrumentationScope.Name+"]")
		}
		t.Fatalf("span kinds %v; spans: %s", kinds, strings.Join(names, ", "))
	}
	mu.Lock()
	tp := upstreamTraceparent
	mu.Unlock()
	if !strings.Contains(tp, traceID) {
		t.Fatalf("the giveaway service got traceparent %q", tp)
	}
	if line := lastRegisterLine(logs.String()); line == nil || line["trace_id"] != traceID {
		t.Fatalf("the request log line lacks trace_id %s:\n%s", traceID, logs.String())
	}
}

// TestTraceContextWithoutExporter: with no exporter configured the
// service still continues the caller's trace: the request log line and
// the upstream call carry the caller's trace id.
func TestTraceContextWithoutExporter(t *testing.T) {
	upstream := make(chan string, 1)
	giveaways := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case upstream <- r.Header.Get("traceparent"):
		default:
		}
		_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 7, "status": "active", "account_id": 1, "winner_count": 1}}`))
	}))
	defer giveaways.Close()
	logs := &testenv.Logs{}
	a := testenv.StartServiceWith(t, logs, nil, "TELEGIVE_GIVEAWAY_URL="+giveaways.URL)

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	registerTraced(t, a.URL, "00-"+traceID+"-b7ad6b7169203331-01")
	select {
	case tp := <-upstream:
		if !strings.Contains(tp, traceID) || strings.Contains(tp, "b7ad6b7169203331") {
			t.Fatalf("the giveaway service got traceparent %q, want trace %s in a span of the service's own", tp, traceID)
		}
	default:
		t.Fatal("the giveaway service was not called")
	}
	if line := lastRegisterLine(logs.String()); line == nil || line["trace_id"] != traceID {
		t.Fatalf("the request log line lacks trace_id %s:\n%s", traceID, logs.String())
	}
}

// registerTraced registers user 99 in giveaway 7 with the traceparent
// header given, and wants 200.
func registerTraced(t *testing.T, url, traceparent string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/participants/register", strings.NewReader(`{"giveaway_id": 7, "user_id": 99}`))
	req.Header.Set("traceparent", traceparent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register: %d", resp.StatusCode)
	}
}

// lastRegisterLine is the last request log line of the register route,
// or nil.
func lastRegisterLine(logs string) map[string]any {
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["route"] == "register" {
			last = line
		}
	}
	return last
}

func attr(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// TestMetricsContract: after some traffic, every metric the contract in
// docs/metrics.md names is exported.
func TestMetricsContract(t *testing.T) {
	// A witness and a relay out of reach, so that their series exist
	// without the network.
	// The read URL is the primary itself, which is no standby: the
	// replica's series exist, reporting it down.
	db := testenv.PostgresSchema(t)
	a := testenv.StartServiceWith(t, io.Discard, nil, "DATABASE_URL="+db, "DATABASE_READ_URL="+db, "REDIS_URL="+testenv.RedisURL(t),
		"REDIS_KEY_PREFIX=metrics-test:"+time.Now().Format("150405.000000")+":", "TELEGIVE_GIVEAWAY_URL=http://127.0.0.1:1",
		"TELEGIVE_CHANNEL_URL=http://127.0.0.1:1", "TELEGIVE_AUTH_URL=http://127.0.0.1:1", "UPSTREAM_RETRIES=0",
		"BEACON_RELAYS=http://127.0.0.1:1", "WITNESS_URLS=http://127.0.0.1:1", "WITNESS_KEYS="+witnessKey(t, "witness.example/unreachable"))
	traffic(t, a.URL)
	exported := scrape(t, "http://"+a.MetricsAddr()+"/metrics")
	for _, name := range contractMetrics(t) {
		if !exported[name] {
			t.Errorf("docs/metrics.md names %s, which is not exported", name)
		}
	}
}

// traffic exercises every business path once.
func traffic(t *testing.T, base string) {
	t.Helper()
	post := func(path, body string) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post("/api/participants/register", `{"giveaway_id": 1, "user_id": 2}`)
	post("/api/participants/validate-captcha", `{"giveaway_id": 1, "user_id": 2, "answer": 1000}`)
	post("/api/participants/1/select-winners", `{"winner_count": 1}`)
	post("/api/participants/1/redraw", `{"disqualified_user_ids": [5], "reason": "x"}`)
	for range 3 {
		resp, err := http.Get(base + "/api/participants/1/count")
		if err == nil {
			resp.Body.Close()
		}
	}
	req, _ := http.NewRequest("GET", base+"/admin/stats", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// scrape returns the metric family names exported, histogram and summary
// series folded into their family.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			names[f[2]] = true
			if f[3] == "counter" {
				names[f[2]+"_total"] = true
			}
			continue
		}
		if m := metricLine.FindString(line); m != "" && !strings.HasPrefix(line, "#") {
			names[m] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[strings.TrimSuffix(m, suffix)] = true
			}
		}
	}
	return names
}

var contractName = regexp.MustCompile("`(participant_[a-z0-9_]+)`")

func contractMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range contractName.FindAllStringSubmatch(string(b), -1) {
		seen[m[1]] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) < 25 {
		t.Fatalf("found only %d metrics in docs/metrics.md", len(out))
	}
	return out
}

// witnessKey returns a fresh cosignature/v1 verifier key named name.
func witnessKey(t *testing.T, name string) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, key)
	if err != nil {
		t.Fatal(err)
	}
	return s.Verifier().String()
}
