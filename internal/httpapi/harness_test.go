package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// clock is a settable test clock, or the system clock when real.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	real bool
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now()
	}
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is the real HTTP stack on a real database.
type harness struct {
	t       *testing.T
	backend string
	url     string
	store   *store.Store
	clock   *clock
	api     *httpapi.Server
	logs    *testenv.Logs
}

type harnessOption func(*harnessConfig)

type harnessConfig struct {
	opts          participant.Options
	giveaways     participant.Giveaways
	subscriptions participant.Subscriptions
	store         *store.Store
	maxBody       int64
	api           httpapi.Options
	checks        []health.Check
	realClock     bool
}

// withRealClock runs the service on the system clock, as draws waiting for
// a drand round need.
func withRealClock() harnessOption {
	return func(c *harnessConfig) { c.realClock = true }
}

// withAPI adjusts the HTTP server's options (auth, limits, HTTPS, CORS).
func withAPI(fn func(*httpapi.Options)) harnessOption {
	return func(c *harnessConfig) { fn(&c.api) }
}

func withOptions(fn func(*participant.Options)) harnessOption {
	return func(c *harnessConfig) { fn(&c.opts) }
}

func withGiveaways(g participant.Giveaways) harnessOption {
	return func(c *harnessConfig) { c.giveaways = g }
}

func withSubscriptions(s participant.Subscriptions) harnessOption {
	return func(c *harnessConfig) { c.subscriptions = s }
}

// withStore shares a store between harnesses, as replicas share a
// database.
func withStore(s *store.Store) harnessOption {
	return func(c *harnessConfig) { c.store = s }
}

func defaultOptions() participant.Options {
	return participant.Options{
		Captcha:    participant.CaptchaRules{MinNumber: 1, MaxNumber: 10, MaxAttempts: 3, Timeout: 10 * time.Minute, PerHour: 5},
		MaxWinners: 1000, ListMaxLimit: 10000,
	}
}

func newHarness(t *testing.T, backend string, options ...harnessOption) *harness {
	t.Helper()
	cfg := harnessConfig{opts: defaultOptions(), maxBody: 1 << 20}
	for _, o := range options {
		o(&cfg)
	}
	st := cfg.store
	if st == nil {
		st = testenv.OpenStore(t, backend)
	}
	clk := &clock{now: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), real: cfg.realClock}
	cfg.opts.Now = clk.Now
	svc := participant.NewService(st, cfg.giveaways, cfg.subscriptions, cfg.opts)
	logs := &testenv.Logs{}
	checks := health.New(time.Second, append([]health.Check{{Name: "database", Impact: health.Critical, Run: health.Func(st.Ping)}}, cfg.checks...)...)
	o := cfg.api
	o.Service, o.Health = svc, checks
	o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.ServiceName, o.Version, o.MaxBodyBytes, o.ExportBatchSize, o.Now = "participant-service", "test", cfg.maxBody, 7, clk.Now
	api := httpapi.New(o)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, backend: backend, url: srv.URL, store: st, clock: clk, api: api, logs: logs}
}

// eachBackend runs fn on SQLite and Postgres in parallel subtests.
func eachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// reply is a decoded JSON answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (h *harness) do(method, path string, body any) reply {
	h.t.Helper()
	return h.doWith(method, path, body, nil)
}

// doWith sends a request with extra headers.
func (h *harness) doWith(method, path string, body any, headers map[string]string) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
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

func (r reply) num(key string) int64 {
	v, ok := r.body[key].(float64)
	if !ok {
		panic(fmt.Sprintf("field %q is %T (%v), not a number; body %s", key, r.body[key], r.body[key], r.raw))
	}
	return int64(v)
}

func (r reply) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

func (r reply) flag(key string) bool {
	v, _ := r.body[key].(bool)
	return v
}

// expect fails unless the reply has the status and, for errors, the code.
func (r reply) expect(t *testing.T, status int, code string) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if code != "" && r.str("error_code") != code {
		t.Fatalf("error_code = %q, want %q; body %s", r.str("error_code"), code, r.raw)
	}
	if _, ok := r.body["success"]; !ok && len(r.raw) > 0 && r.raw[0] == '{' {
		t.Fatalf("body has no success field: %s", r.raw)
	}
	if r.flag("success") != (status < 400) {
		t.Fatalf("success = %v for status %d: %s", r.flag("success"), status, r.raw)
	}
	return r
}

// solve answers a captcha question the way a person would.
var solve = testenv.SolveCaptcha

// join registers a user through the captcha and returns the participant id.
func (h *harness) join(giveawayID, userID int64) int64 {
	h.t.Helper()
	r := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": giveawayID, "user_id": userID,
		"username": fmt.Sprintf("user_%d", userID), "first_name": "User"})
	if r.status == http.StatusCreated {
		return r.num("participant_id")
	}
	r.expect(h.t, http.StatusOK, "")
	if !r.flag("requires_captcha") {
		h.t.Fatalf("register neither joined nor asked a captcha: %s", r.raw)
	}
	v := h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": giveawayID, "user_id": userID,
		"answer": solve(h.t, r.str("captcha_question"))}).expect(h.t, http.StatusOK, "")
	if !v.flag("captcha_completed") {
		h.t.Fatalf("right answer not accepted: %s", v.raw)
	}
	return v.num("participant_id")
}
