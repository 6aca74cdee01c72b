package reliability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
)

// faultyTelegive plays the giveaway, channel and auth services and
// Telegram; each can be switched to hang, fail or flap.
type faultyTelegive struct {
	mode  atomic.Value // "ok", "hang", "fail", "flap"
	calls atomic.Int64
}

func (f *faultyTelegive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	switch f.mode.Load().(string) {
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case "fail":
		w.WriteHeader(http.StatusBadGateway)
		return
	case "flap":
		if n%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/giveaways/"):
		_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 1, "status": "active", "account_id": 7, "winner_count": 1}}`))
	case strings.HasPrefix(r.URL.Path, "/api/channels/account/"):
		_, _ = w.Write([]byte(`{"success": true, "channel": {"telegram_id": -100, "channel_username": "c", "channel_title": "C"}}`))
	case strings.HasPrefix(r.URL.Path, "/api/auth/bot-token/"):
		_, _ = w.Write([]byte(`{"success": true, "bot_token": "123:secret"}`))
	case strings.HasSuffix(r.URL.Path, "/getChatMember"):
		_, _ = w.Write([]byte(`{"ok": true, "result": {"status": "member"}}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestUpstreamFaultsUnderLoad: the services we call hang, fail and flap
// while registrations (which need them) and status reads (which do not)
// flow. Reads stay fast; no registration waits longer than its upstream
// budget; the breakers open while the services fail and close after.
func TestUpstreamFaultsUnderLoad(t *testing.T) {
	fake := &faultyTelegive{}
	fake.mode.Store("ok")
	upstream := httptest.NewServer(fake)
	defer upstream.Close()
	svc := start(t, "DATABASE_URL="+testenv.PostgresSchema(t),
		"TELEGIVE_GIVEAWAY_URL="+upstream.URL, "TELEGIVE_CHANNEL_URL="+upstream.URL, "TELEGIVE_AUTH_URL="+upstream.URL,
		"TELEGRAM_API_BASE="+upstream.URL, "REQUIRE_SUBSCRIPTION=true", "REDIS_CACHE_TTL=0.01",
		"UPSTREAM_TIMEOUT=0.2", "UPSTREAM_RETRIES=1", "UPSTREAM_BREAKER_FAILURES=5", "UPSTREAM_BREAKER_OPEN=1")
	// A registration makes up to four upstream calls (giveaway, channel,
	// bot token, Telegram), each within two attempts and the backoff
	// between them.
	const budget = 4 * (2*200*time.Millisecond + 150*time.Millisecond)

	b := newBot(t, svc.URL)
	ctx := context.Background()
	known := b.users(t, 10)
	c, _ := client.New(svc.URL, client.WithRetries(0, 0))
	var (
		lat       latencies
		outcomes  sync.Map
		sawOpen   atomic.Bool
		wg        sync.WaitGroup
		slowest   atomic.Int64
		nextGiven atomic.Int64
	)
	stop := time.Now().Add(9 * time.Second)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				user := known[(w+i)%len(known)]
				if i%2 == 0 {
					start := time.Now()
					_, err := c.CaptchaStatus(ctx, user)
					lat.add("captcha_status", time.Since(start))
					if err != nil {
						t.Errorf("an unaffected read failed: %v", err)
					}
					continue
				}
				start := time.Now()
				_, err := c.Register(ctx, client.RegisterRequest{GiveawayID: 100 + nextGiven.Add(1), UserID: user})
				d := time.Since(start)
				lat.add("register", d)
				if int64(d) > slowest.Load() {
					slowest.Store(int64(d))
				}
				code := "ok"
				var e *client.Error
				if asClientError(err, &e) {
					code = e.Code
				} else if err != nil {
					code = "network"
				}
				n, _ := outcomes.LoadOrStore(code, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	// ok 1 s, hang 2 s, fail 2 s, flap 2 s, ok 2 s.
	phases := []struct {
		mode string
		d    time.Duration
	}{{"ok", time.Second}, {"hang", 2 * time.Second}, {"fail", 2 * time.Second}, {"flap", 2 * time.Second}, {"ok", 2 * time.Second}}
	for _, p := range phases {
		fake.mode.Store(p.mode)
		end := time.Now().Add(p.d)
		for time.Now().Before(end) {
			if breaker(t, svc.URL, "giveaway_service") == "open" {
				sawOpen.Store(true)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wg.Wait()
	// The last phase is healthy: within the open period the breakers close.
	closedIn := time.Duration(0)
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(100 * time.Millisecond) {
		_, err := c.Register(ctx, client.RegisterRequest{GiveawayID: 100 + nextGiven.Add(1), UserID: known[0]})
		if err == nil && breaker(t, svc.URL, "giveaway_service") == "closed" {
			closedIn = time.Since(start)
			break
		}
	}
	if !sawOpen.Load() {
		t.Fatal("the giveaway service's breaker never opened while it failed")
	}
	if closedIn == 0 && breaker(t, svc.URL, "giveaway_service") != "closed" {
		t.Fatal("the breaker did not close after the service recovered")
	}
	if max := time.Duration(slowest.Load()); max > budget+300*time.Millisecond {
		t.Fatalf("a registration waited %v, over its upstream budget of %v", max, budget)
	}
	p99 := lat.quantile("captcha_status", 0.99)
	if p99 > 250*time.Millisecond {
		t.Fatalf("unaffected reads slowed down: p99 %v", p99)
	}
	got := map[string]int64{}
	outcomes.Range(func(k, v any) bool { got[k.(string)] = v.(*atomic.Int64).Load(); return true })
	report(t, figures{
		"reads": lat.count("captcha_status"), "reads_p99_ms": ms(p99), "registrations": lat.count("register"),
		"registration_outcomes": got, "registration_max_ms": ms(time.Duration(slowest.Load())), "budget_ms": ms(budget),
		"breaker_opened": sawOpen.Load(), "upstream_calls": fake.calls.Load(),
	})
}

func asClientError(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*target = e
	}
	return ok
}

// breaker reads a breaker's state from /health, as an operator would.
func breaker(t *testing.T, base, check string) string {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]struct {
			Details map[string]any `json:"details"`
		} `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	s, _ := body.Checks[check].Details["breaker"].(string)
	return s
}
