package upstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
)

const botToken = "123456:SECRET-bot-token"

// fakeServices stands in for the giveaway, channel and auth services and
// Telegram, answering per test.
func fakeServices(t *testing.T, handler http.HandlerFunc) upstream.Options {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return upstream.Options{
		GiveawayURL: srv.URL, ChannelURL: srv.URL, AuthURL: srv.URL, TelegramAPIBase: srv.URL,
		ServiceName: "participant-service", ServiceToken: "svc-token", Timeout: 300 * time.Millisecond,
	}
}

func TestGiveawayLookups(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		delay   time.Duration
		want    participant.Giveaway
		errCode participant.Code
	}{
		{"active", 200, `{"success": true, "giveaway": {"id": 5, "status": "active", "account_id": 9, "winner_count": 3, "title": "T"}}`, 0,
			participant.Giveaway{ID: 5, Status: "active", AccountID: 9, WinnerCount: 3, Title: "T"}, ""},
		{"finished", 200, `{"success": true, "giveaway": {"id": 5, "status": "finished", "account_id": 9, "winner_count": 1}}`, 0,
			participant.Giveaway{ID: 5, Status: "finished", AccountID: 9, WinnerCount: 1}, ""},
		{"not found", 404, `{"success": false, "error": "Giveaway not found"}`, 0, participant.Giveaway{}, participant.CodeGiveawayNotFound},
		{"server error", 500, `oops`, 0, participant.Giveaway{}, participant.CodeServiceUnavailable},
		{"garbage", 200, `<html>`, 0, participant.Giveaway{}, participant.CodeServiceUnavailable},
		{"success false", 200, `{"success": false}`, 0, participant.Giveaway{}, participant.CodeServiceUnavailable},
		{"too slow", 200, `{}`, time.Second, participant.Giveaway{}, participant.CodeServiceUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := make(chan [3]string, 1)
			o := fakeServices(t, func(w http.ResponseWriter, r *http.Request) {
				seen <- [3]string{r.URL.Path, r.Header.Get("X-Service-Name"), r.Header.Get("X-Service-Token")}
				select {
				case <-time.After(c.delay):
				case <-r.Context().Done():
					return
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			})
			start := time.Now()
			g, err := upstream.NewGiveaways(o).Giveaway(context.Background(), 5)
			if elapsed := time.Since(start); elapsed > 2*o.Timeout {
				t.Fatalf("call took %v, timeout is %v", elapsed, o.Timeout)
			}
			if got := <-seen; got != [3]string{"/api/giveaways/5", "participant-service", "svc-token"} {
				t.Fatalf("request: path, X-Service-Name, X-Service-Token = %q", got)
			}
			if got := participant.ErrorCode(err); c.errCode != "" && got != c.errCode {
				t.Fatalf("error code = %s (%v), want %s", got, err, c.errCode)
			}
			if c.errCode == "" && (err != nil || g != c.want) {
				t.Fatalf("giveaway = %+v, %v; want %+v", g, err, c.want)
			}
		})
	}
}

// telegram answers the three calls of a subscription check.
func telegram(channelStatus, authStatus int, authBody string, tgStatus int, tgBody string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/channels/account/9":
			w.WriteHeader(channelStatus)
			_, _ = w.Write([]byte(`{"success": true, "channel": {"telegram_id": -1001234, "channel_username": "chan", "channel_title": "Chan"}}`))
		case r.URL.Path == "/api/auth/bot-token/9":
			w.WriteHeader(authStatus)
			_, _ = w.Write([]byte(authBody))
		case strings.HasPrefix(r.URL.Path, "/bot"+botToken+"/getChatMember"):
			if r.URL.Query().Get("chat_id") != "-1001234" || r.URL.Query().Get("user_id") != "77" {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(tgStatus)
			_, _ = w.Write([]byte(tgBody))
		default:
			w.WriteHeader(404)
		}
	}
}

func TestSubscriptionChecks(t *testing.T) {
	token := `{"success": true, "bot_token": "` + botToken + `"}`
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		subscribed bool
		status     string
		errCode    participant.Code
	}{
		{"member", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "member"}}`), true, "member", ""},
		{"creator", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "creator"}}`), true, "creator", ""},
		{"restricted member", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "restricted", "is_member": true}}`), true, "restricted", ""},
		{"restricted non-member", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "restricted", "is_member": false}}`), false, "restricted", ""},
		{"left", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "left"}}`), false, "left", ""},
		{"kicked", telegram(200, 200, token, 200, `{"ok": true, "result": {"status": "kicked"}}`), false, "kicked", ""},
		{"never seen", telegram(200, 200, token, 400, `{"ok": false, "description": "Bad Request: user not found"}`), false, "left", ""},
		{"no channel", telegram(404, 200, token, 200, ``), false, "", participant.CodeChannelNotFound},
		{"no token", telegram(200, 404, `{"success": false}`, 200, ``), false, "", participant.CodeBotTokenMissing},
		{"empty token", telegram(200, 200, `{"success": true, "bot_token": ""}`, 200, ``), false, "", participant.CodeBotTokenMissing},
		{"auth down", telegram(200, 503, ``, 200, ``), false, "", participant.CodeServiceUnavailable},
		{"telegram error", telegram(200, 200, token, 401, `{"ok": false, "description": "Unauthorized"}`), false, "", participant.CodeTelegramAPI},
		{"telegram down", telegram(200, 200, token, 502, `bad gateway`), false, "", participant.CodeTelegramAPI},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub, err := upstream.NewSubscriptions(fakeServices(t, c.handler)).CheckSubscription(context.Background(), 77, 9)
			if c.errCode != "" {
				if participant.ErrorCode(err) != c.errCode {
					t.Fatalf("error = %v, want code %s", err, c.errCode)
				}
				if strings.Contains(err.Error(), botToken) || strings.Contains(err.Error(), "http://") {
					t.Fatalf("error leaks the token or a URL: %v", err)
				}
				return
			}
			if err != nil || sub.Subscribed != c.subscribed || sub.Status != c.status ||
				sub.Channel != (participant.Channel{ID: -1001234, Title: "Chan", Username: "chan"}) || sub.VerifiedAt.IsZero() {
				t.Fatalf("subscription = %+v, %v", sub, err)
			}
		})
	}
}

// TestBotTokensStayInProcess: the shared cache (Redis in production) holds
// the channel but never the bot token; the token is still cached, in the
// process, so a second check does not ask the auth service again.
func TestBotTokensStayInProcess(t *testing.T) {
	var authCalls atomic.Int64
	h := telegram(200, 200, `{"success": true, "bot_token": "`+botToken+`"}`, 200, `{"ok": true, "result": {"status": "left"}}`)
	o := fakeServices(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/auth/") {
			authCalls.Add(1)
		}
		h(w, r)
	})
	shared := &recordingCache{Cache: cache.NewMemory(100, nil)}
	o.Cache, o.CacheTTL = shared, time.Minute
	subs := upstream.NewSubscriptions(o)
	for range 2 {
		if sub, err := subs.CheckSubscription(context.Background(), 77, 9); err != nil || sub.Subscribed {
			t.Fatalf("subscription = %+v, %v", sub, err)
		}
	}
	if n := authCalls.Load(); n != 1 {
		t.Fatalf("the auth service was asked %d times, want 1 (the token is cached)", n)
	}
	if len(shared.keys) == 0 {
		t.Fatal("nothing reached the shared cache; the test proves nothing")
	}
	for i, k := range shared.keys {
		if strings.Contains(k, "token") || strings.Contains(string(shared.values[i]), botToken) {
			t.Fatalf("the shared cache received the bot token under %q", k)
		}
	}
}

// TestRejectedBotTokenIsFetchedAgain: after Telegram answers 401 the cached
// token is dropped, so a rotated token takes effect at the next check.
func TestRejectedBotTokenIsFetchedAgain(t *testing.T) {
	var authCalls atomic.Int64
	rejected := telegram(200, 200, `{"success": true, "bot_token": "`+botToken+`"}`, 401, `{"ok": false, "description": "Unauthorized"}`)
	o := fakeServices(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/auth/") {
			authCalls.Add(1)
		}
		rejected(w, r)
	})
	o.Cache, o.CacheTTL = cache.NewMemory(100, nil), time.Minute
	subs := upstream.NewSubscriptions(o)
	for range 2 {
		if _, err := subs.CheckSubscription(context.Background(), 77, 9); participant.ErrorCode(err) != participant.CodeTelegramAPI {
			t.Fatalf("error = %v, want TELEGRAM_API_ERROR", err)
		}
	}
	if n := authCalls.Load(); n != 2 {
		t.Fatalf("the auth service was asked %d times, want 2 (a rejected token is not kept)", n)
	}
}

// recordingCache remembers everything written to it.
type recordingCache struct {
	cache.Cache
	mu     sync.Mutex
	keys   []string
	values [][]byte
}

func (c *recordingCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.keys, c.values = append(c.keys, key), append(c.values, value)
	c.mu.Unlock()
	return c.Cache.Set(ctx, key, value, ttl)
}

// TestTelegramTransportErrorsHideTheToken: a refused connection's error
// names no URL, since the Telegram URL carries the bot token.
func TestTelegramTransportErrorsHideTheToken(t *testing.T) {
	srv := httptest.NewServer(telegram(200, 200, `{"success": true, "bot_token": "`+botToken+`"}`, 200, ``))
	o := upstream.Options{ChannelURL: srv.URL, AuthURL: srv.URL, TelegramAPIBase: "http://127.0.0.1:1", Timeout: time.Second}
	_, err := upstream.NewSubscriptions(o).CheckSubscription(context.Background(), 77, 9)
	srv.Close()
	if participant.ErrorCode(err) != participant.CodeTelegramAPI {
		t.Fatalf("error = %v", err)
	}
	if strings.Contains(err.Error(), botToken) || strings.Contains(err.Error(), "127.0.0.1:1/bot") {
		t.Fatalf("error leaks the token: %v", err)
	}
}
