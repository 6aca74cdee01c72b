package upstream_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/upstream"
)

// flaky is a giveaway service whose behaviour a test switches.
type flaky struct {
	mode  atomic.Value // "ok", "fail", "hang", "garbage", "missing"
	calls atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	switch f.mode.Load().(string) {
	case "fail":
		w.WriteHeader(http.StatusBadGateway)
	case "hang":
		<-r.Context().Done()
	case "garbage":
		_, _ = w.Write([]byte("\x00\x01 not json"))
	case "missing":
		w.WriteHeader(http.StatusNotFound)
	default:
		_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 1, "status": "active", "account_id": 2, "winner_count": 1}}`))
	}
}

func newFlaky(t *testing.T, mode string) (*flaky, string) {
	f := &flaky{}
	f.mode.Store(mode)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// TestBreakerOpensFailsFastAndRecovers: after the configured failures the
// breaker opens and answers at once with SERVICE_UNAVAILABLE and a
// Retry-After; after the open period one trial call goes through, and a
// success closes it.
func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	f, base := newFlaky(t, "fail")
	var transitions []string
	var mu sync.Mutex
	logs := &testenv.Logs{}
	g := upstream.NewGiveaways(upstream.Options{
		GiveawayURL: base, Timeout: 200 * time.Millisecond, Retries: 0, BreakerFailures: 3, BreakerOpen: 300 * time.Millisecond,
		ServiceToken: "svc-secret-token", Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		OnStateChange: func(svc, from, to string) {
			mu.Lock()
			transitions = append(transitions, svc+":"+from+">"+to)
			mu.Unlock()
		},
	})
	ctx := context.Background()
	for i := range 3 {
		if _, err := g.Giveaway(ctx, 1); participant.ErrorCode(err) != participant.CodeServiceUnavailable {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if g.Breaker() != "open" {
		t.Fatalf("breaker = %s after 3 failures", g.Breaker())
	}
	before := f.calls.Load()
	start := time.Now()
	_, err := g.Giveaway(ctx, 1)
	var e *participant.Error
	if !asError(err, &e) || e.Code != participant.CodeServiceUnavailable || e.RetryAfter != 300*time.Millisecond {
		t.Fatalf("open breaker answer: %v", err)
	}
	if f.calls.Load() != before || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("an open breaker must not call the service (calls %d→%d, %v)", before, f.calls.Load(), time.Since(start))
	}

	f.mode.Store("ok")
	time.Sleep(350 * time.Millisecond)
	if g.Breaker() != "half-open" {
		t.Fatalf("breaker = %s after the open period", g.Breaker())
	}
	if gw, err := g.Giveaway(ctx, 1); err != nil || !gw.Active() {
		t.Fatalf("trial call: %+v %v", gw, err)
	}
	if g.Breaker() != "closed" {
		t.Fatalf("breaker = %s after a successful trial", g.Breaker())
	}
	mu.Lock()
	got := strings.Join(transitions, " ")
	mu.Unlock()
	if got != "giveaway:closed>open giveaway:open>half-open giveaway:half-open>closed" {
		t.Fatalf("transitions: %s", got)
	}
	if l := logs.String(); strings.Contains(l, base) || strings.Contains(l, "svc-secret-token") {
		t.Fatalf("logs leak the URL or token: %s", l)
	}
}

func asError(err error, target **participant.Error) bool {
	e, ok := err.(*participant.Error)
	*target = e
	return ok
}

// TestRetriesOnlyTransientFailures: reads are retried on 5xx and timeouts,
// never on 4xx answers, and within the configured count.
func TestRetriesOnlyTransientFailures(t *testing.T) {
	for _, c := range []struct {
		mode  string
		calls int64
		code  participant.Code
	}{
		{"fail", 3, participant.CodeServiceUnavailable},
		{"hang", 3, participant.CodeServiceUnavailable},
		{"missing", 1, participant.CodeGiveawayNotFound},
		{"garbage", 1, participant.CodeServiceUnavailable},
		{"ok", 1, ""},
	} {
		t.Run(c.mode, func(t *testing.T) {
			f, base := newFlaky(t, c.mode)
			g := upstream.NewGiveaways(upstream.Options{GiveawayURL: base, Timeout: 100 * time.Millisecond, Retries: 2, BreakerFailures: 10})
			start := time.Now()
			_, err := g.Giveaway(context.Background(), 1)
			if got := participant.ErrorCode(err); c.code != "" && got != c.code || c.code == "" && err != nil {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
			if f.calls.Load() != c.calls {
				t.Fatalf("%d calls, want %d", f.calls.Load(), c.calls)
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("the call took %v: retries must stay within a small budget", time.Since(start))
			}
		})
	}
}

// TestAnswersAreCached: a cached giveaway costs no call until it is
// invalidated.
func TestAnswersAreCached(t *testing.T) {
	f, base := newFlaky(t, "ok")
	g := upstream.NewGiveaways(upstream.Options{GiveawayURL: base, Cache: cache.NewMemory(10, nil), CacheTTL: time.Minute})
	ctx := context.Background()
	for range 3 {
		if _, err := g.Giveaway(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if f.calls.Load() != 1 {
		t.Fatalf("%d calls for three lookups", f.calls.Load())
	}
	g.Invalidate(ctx, 1)
	_, _ = g.Giveaway(ctx, 1)
	if f.calls.Load() != 2 {
		t.Fatalf("invalidation did not force a call")
	}
	// Failures are not cached.
	f.mode.Store("missing")
	g.Invalidate(ctx, 1)
	_, _ = g.Giveaway(ctx, 1)
	_, _ = g.Giveaway(ctx, 1)
	if f.calls.Load() != 4 {
		t.Fatalf("a not-found answer was cached (%d calls)", f.calls.Load())
	}
}
