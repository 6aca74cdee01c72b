package upstream_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/upstream"
)

// elsewhere is the host a redirect points to. It records every request
// that reaches it and answers each with a believable success, so a client
// that followed the redirect would take its word.
type elsewhere struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func newElsewhere(t *testing.T) *elsewhere {
	t.Helper()
	e := &elsewhere{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.URL.RequestURI()+" Referer="+r.Referer()+" X-Service-Token="+r.Header.Get("X-Service-Token"))
		e.mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/giveaways/"):
			_, _ = w.Write([]byte(`{"success": true, "giveaway": {"id": 5, "status": "active", "account_id": 9, "winner_count": 1}}`))
		case strings.HasPrefix(r.URL.Path, "/api/channels/"):
			_, _ = w.Write([]byte(`{"success": true, "channel": {"telegram_id": -1001234, "channel_username": "chan", "channel_title": "Chan"}}`))
		case strings.HasPrefix(r.URL.Path, "/api/auth/"):
			_, _ = w.Write([]byte(`{"success": true, "bot_token": "` + botToken + `"}`))
		case strings.HasSuffix(r.URL.Path, "/getChatMember"):
			_, _ = w.Write([]byte(`{"ok": true, "result": {"status": "member"}}`))
		default:
			_, _ = w.Write([]byte(`{"status": "ok"}`))
		}
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *elsewhere) requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

// redirecting answers the paths that match with status, pointing at the
// same path and query on to (so the Location holds whatever secret the
// path held), and the rest with next. It counts the redirects it sent.
func redirecting(to *elsewhere, status int, match func(path string) bool, next http.Handler, sent *int64, mu *sync.Mutex) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !match(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		*sent++
		mu.Unlock()
		http.Redirect(w, r, to.url+r.URL.RequestURI(), status)
	}
}

// TestRedirectsAreRefused: no upstream client follows a redirect, whoever
// built its HTTP client. The host redirected to receives nothing (no
// token, no X-Service-Token, no Referer holding the bot token), the call
// fails with the domain error for that upstream, the redirect is not
// retried but counts toward the breaker, and neither the error nor the
// logs hold a token.
func TestRedirectsAreRefused(t *testing.T) {
	const svcToken = "svc-secret-token"
	services := []struct {
		name  string
		match func(string) bool
		code  participant.Code
	}{
		{"giveaway", func(p string) bool { return strings.HasPrefix(p, "/api/giveaways/") }, participant.CodeServiceUnavailable},
		{"channel", func(p string) bool { return strings.HasPrefix(p, "/api/channels/") }, participant.CodeServiceUnavailable},
		{"auth", func(p string) bool { return strings.HasPrefix(p, "/api/auth/") }, participant.CodeServiceUnavailable},
		{"telegram", func(p string) bool { return strings.HasPrefix(p, "/bot") }, participant.CodeTelegramAPI},
	}
	clients := []struct {
		name   string
		status int
		// set configures the client and returns a check that the
		// caller's own client was left as it was.
		set func(*upstream.Options) (unchanged func() bool)
	}{
		{"default client", http.StatusFound, func(*upstream.Options) func() bool { return func() bool { return true } }},
		{"caller's client", http.StatusTemporaryRedirect, func(o *upstream.Options) func() bool {
			hc := &http.Client{Timeout: 5 * time.Second}
			o.HTTPClient = hc
			return func() bool { return hc.CheckRedirect == nil && hc.Timeout == 5*time.Second }
		}},
		{"caller's client that allows redirects", http.StatusPermanentRedirect, func(o *upstream.Options) func() bool {
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
			o.HTTPClient = hc
			return func() bool { return hc.CheckRedirect != nil && hc.CheckRedirect(nil, nil) == nil }
		}},
		{"traced client", http.StatusMovedPermanently, func(o *upstream.Options) func() bool {
			o.TracerProvider = noop.NewTracerProvider()
			return func() bool { return true }
		}},
	}
	for _, svc := range services {
		for _, cl := range clients {
			t.Run(svc.name+"/"+cl.name, func(t *testing.T) {
				to := newElsewhere(t)
				var (
					mu       sync.Mutex
					sent     int64
					attempts []string
				)
				ok := telegram(200, 200, `{"success": true, "bot_token": "`+botToken+`"}`, 200, `{"ok": true, "result": {"status": "member"}}`)
				o := fakeServices(t, redirecting(to, cl.status, svc.match, ok, &sent, &mu))
				logs := &testenv.Logs{}
				o.ServiceToken, o.Logger = svcToken, slog.New(slog.NewJSONHandler(logs, nil))
				o.Retries, o.BreakerFailures, o.BreakerOpen = 2, 2, time.Minute
				o.OnAttempt = func(service, outcome string, _ time.Duration) {
					mu.Lock()
					attempts = append(attempts, service+":"+outcome)
					mu.Unlock()
				}
				unchanged := cl.set(&o)

				var call func() error
				var breaker func() string
				if svc.name == "giveaway" {
					g := upstream.NewGiveaways(o)
					call = func() error { _, err := g.Giveaway(context.Background(), 5); return err }
					breaker = g.Breaker
				} else {
					s := upstream.NewSubscriptions(o)
					call = func() error { _, err := s.CheckSubscription(context.Background(), 77, 9); return err }
					breaker = func() string { return s.Breakers()[svc.name] }
				}
				for i := range 2 {
					err := call()
					if got := participant.ErrorCode(err); got != svc.code {
						t.Fatalf("call %d: error = %v (code %q), want %s", i, err, got, svc.code)
					}
					if msg := err.Error(); strings.Contains(msg, botToken) || strings.Contains(msg, svcToken) || strings.Contains(msg, "http://") {
						t.Fatalf("call %d: the error leaks a token or a URL: %s", i, msg)
					}
				}

				if got := to.requests(); len(got) != 0 {
					t.Fatalf("the host redirected to received %d requests: %q", len(got), got)
				}
				mu.Lock()
				gotSent, gotAttempts := sent, strings.Join(attempts, " ")
				mu.Unlock()
				if gotSent != 2 {
					t.Fatalf("%d redirects sent for 2 calls with 2 retries each: a redirect must not be retried", gotSent)
				}
				var want []string
				if svc.name == "auth" || svc.name == "telegram" {
					want = append(want, "channel:success")
				}
				if svc.name == "telegram" {
					want = append(want, "auth:success")
				}
				want = append(want, svc.name+":redirect")
				if w := strings.Join(append(want, want...), " "); gotAttempts != w {
					t.Fatalf("attempts = %q, want %q", gotAttempts, w)
				}
				if st := breaker(); st != "open" {
					t.Fatalf("%s breaker = %s after 2 redirects with BreakerFailures 2, want open", svc.name, st)
				}
				l := logs.String()
				if strings.Contains(l, botToken) || strings.Contains(l, svcToken) || strings.Contains(l, "/bot") {
					t.Fatalf("the logs leak a token or the Telegram path: %s", l)
				}
				if !strings.Contains(l, `"msg":"upstream answered with a redirect; not followed"`) || !strings.Contains(l, `"upstream":"`+svc.name+`"`) {
					t.Fatalf("the refused redirect is not logged for %s: %s", svc.name, l)
				}
				if !unchanged() {
					t.Fatal("the caller's HTTP client was changed")
				}
			})
		}
	}
}

// TestProberRefusesRedirects: a watched service whose health answer
// redirects is down, and the host redirected to is never asked.
func TestProberRefusesRedirects(t *testing.T) {
	to := newElsewhere(t)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to.url+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(moved.Close)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status": "ok"}`))
	}))
	t.Cleanup(healthy.Close)

	p := upstream.NewProber(map[string]string{"bot_service": moved.URL, "media_service": healthy.URL}, time.Hour, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Results()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	res := p.Results()
	if bot, ok := res["bot_service"]; !ok || bot.Up {
		t.Fatalf("bot_service answering a redirect: %+v (checked %v), want down", bot, ok)
	}
	if media, ok := res["media_service"]; !ok || !media.Up {
		t.Fatalf("media_service answering 200: %+v (checked %v), want up", media, ok)
	}
	if got := to.requests(); len(got) != 0 {
		t.Fatalf("the host redirected to received %d requests: %q", len(got), got)
	}
}
