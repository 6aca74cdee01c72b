package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
)

const secretBotToken = "987654:TOP-SECRET"

// fakeTelegive serves the giveaway, channel and auth services and the
// Telegram API for one test.
type fakeTelegive struct {
	giveawayStatus atomic.Value // "active", "finished", "missing" or "down"
	member         atomic.Bool
}

func newFakeTelegive(t *testing.T) (*fakeTelegive, upstream.Options) {
	f := &fakeTelegive{}
	f.giveawayStatus.Store("active")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/giveaways/"):
			switch st := f.giveawayStatus.Load().(string); st {
			case "missing":
				w.WriteHeader(404)
			case "down":
				w.WriteHeader(503)
			default:
				_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "giveaway": map[string]any{
					"id": 1, "status": st, "account_id": 9, "winner_count": 2, "title": "Prize"}})
			}
		case r.URL.Path == "/api/channels/account/9":
			_, _ = w.Write([]byte(`{"success": true, "channel": {"telegram_id": -100777, "channel_username": "prizes", "channel_title": "Prizes"}}`))
		case r.URL.Path == "/api/auth/bot-token/9":
			_, _ = w.Write([]byte(`{"success": true, "bot_token": "` + secretBotToken + `"}`))
		case r.URL.Path == "/bot"+secretBotToken+"/getChatMember":
			status := "left"
			if f.member.Load() {
				status = "member"
			}
			_, _ = w.Write([]byte(`{"ok": true, "result": {"status": "` + status + `"}}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return f, upstream.Options{GiveawayURL: srv.URL, ChannelURL: srv.URL, AuthURL: srv.URL, TelegramAPIBase: srv.URL,
		ServiceName: "participant-service", Timeout: time.Second}
}

// TestRegistrationWithUpstreams: the giveaway must exist and be active, and
// with subscriptions required the user must be subscribed; the bot token
// never appears in a response or a log line.
func TestRegistrationWithUpstreams(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		fake, o := newFakeTelegive(t)
		h := newHarness(t, backend,
			withGiveaways(upstream.NewGiveaways(o)),
			withSubscriptions(upstream.NewSubscriptions(o)),
			withOptions(func(opts *participant.Options) { opts.RequireSubscription = true }))
		reg := map[string]any{"giveaway_id": 1, "user_id": 31}
		var bodies []string

		fake.giveawayStatus.Store("missing")
		h.do("POST", "/api/participants/register", reg).expect(t, http.StatusNotFound, "GIVEAWAY_NOT_FOUND")
		fake.giveawayStatus.Store("finished")
		h.do("POST", "/api/participants/register", reg).expect(t, http.StatusConflict, "GIVEAWAY_NOT_ACTIVE")
		fake.giveawayStatus.Store("down")
		down := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		bodies = append(bodies, string(down.raw))
		fake.giveawayStatus.Store("active")

		ch := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusOK, "")
		notSub := h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": 1, "user_id": 31,
			"answer": solve(t, ch.str("captcha_question"))}).expect(t, http.StatusForbidden, "USER_NOT_SUBSCRIBED")
		info, _ := notSub.body["channel_info"].(map[string]any)
		if info["username"] != "prizes" || info["title"] != "Prizes" {
			t.Fatalf("channel_info: %s", notSub.raw)
		}
		bodies = append(bodies, string(notSub.raw))

		fake.member.Store(true)
		ok := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusCreated, "")
		list := h.do("GET", "/api/participants/1", nil)
		if p := list.body["participants"].([]any)[0].(map[string]any); p["subscription_verified"] != true || int64(p["id"].(float64)) != ok.num("participant_id") {
			t.Fatalf("subscribed participant: %v", p)
		}

		vs := h.do("POST", "/api/participants/verify-subscription", map[string]any{"user_id": 31, "account_id": 9}).expect(t, http.StatusOK, "")
		if !vs.flag("is_subscribed") || vs.str("membership_status") != "member" || vs.str("verified_at") == "" ||
			vs.body["channel_info"].(map[string]any)["id"].(float64) != -100777 {
			t.Fatalf("verify-subscription: %s", vs.raw)
		}
		bodies = append(bodies, string(vs.raw))

		// Eligibility follows the rule: only verified participants can win.
		sel := h.do("POST", "/api/participants/1/select-winners", map[string]any{}).expect(t, http.StatusOK, "")
		if sel.num("winner_count_requested") != 2 || sel.num("total_participants") != 1 {
			t.Fatalf("winner_count from the giveaway service: %s", sel.raw)
		}

		for _, b := range append(bodies, h.logs.String()) {
			if strings.Contains(b, secretBotToken) || strings.Contains(b, "TOP-SECRET") {
				t.Fatalf("the bot token leaked: %s", b)
			}
			if strings.Contains(b, "127.0.0.1") {
				t.Fatalf("an upstream address leaked into a body: %.300s", b)
			}
		}
	})
}

// TestVerifySubscriptionWithoutUpstreams: the endpoint validates and then
// says plainly that the lookup is not configured.
func TestVerifySubscriptionWithoutUpstreams(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.do("POST", "/api/participants/verify-subscription", map[string]any{"user_id": 1, "account_id": 2}).
		expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
}
