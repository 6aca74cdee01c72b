package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
)

const rulesBotToken = "555000:RULES-bot"

// Users of the stand-in Bot API, all dated before 2017 by the account age
// table but freshUser, which is newer than its last row.
const (
	inBoth    = int64(300_000_001 + iota) // member of A and B
	onlyA                                 // member of A only
	adminA                                // administrator of A, member of B
	freshUser = int64(7_000_000_001)      // member of both
)

// accountGiveaways is the giveaway service: every giveaway belongs to
// account 9 and is active unless finished.
type accountGiveaways struct {
	mu       sync.Mutex
	finished map[int64]bool
}

func (g *accountGiveaways) Giveaway(_ context.Context, id int64) (participant.Giveaway, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	status := "active"
	if g.finished[id] {
		status = "finished"
	}
	return participant.Giveaway{ID: id, Status: status, AccountID: 9, WinnerCount: 1}, nil
}

func (g *accountGiveaways) Invalidate(context.Context, int64) {}

// rulesHarness is a harness whose subscriptions are checked against the
// stand-in Bot API with chats A (-1001001, @chan_a), B (-1001002,
// @chan_b) and C (@chan_c, where the bot is not an administrator).
func rulesHarness(t *testing.T, backend string) (*harness, *telegramtest.Server, *accountGiveaways) {
	t.Helper()
	tg := telegramtest.New(t, rulesBotToken)
	tg.AddChat(-1001001, "@chan_a").AddChat(-1001002, "@chan_b").AddChat(-1001003, "@chan_c")
	tg.SetBotAccess("@chan_c", telegramtest.BotNotAdmin)
	for _, u := range []int64{inBoth, freshUser} {
		tg.SetMember("-1001001", u, telegramtest.Joined).SetMember("-1001002", u, telegramtest.Joined)
	}
	tg.SetMember("-1001001", onlyA, telegramtest.Joined).SetMember("-1001002", onlyA, telegramtest.Left)
	tg.SetMember("-1001001", adminA, telegramtest.Administrator).SetMember("-1001002", adminA, telegramtest.Joined)
	accounts := telegramtest.NewAccounts(t, "")
	accounts.SetAccount(9, telegramtest.Channel{TelegramID: -1001001, Username: "chan_a", Title: "A"}, rulesBotToken)
	subs := upstream.NewSubscriptions(upstream.Options{ChannelURL: accounts.URL, AuthURL: accounts.URL, TelegramAPIBase: tg.URL,
		Timeout: 500 * time.Millisecond, BreakerFailures: 100, Cache: cache.NewMemory(1000, nil), CacheTTL: time.Minute})
	g := &accountGiveaways{finished: map[int64]bool{}}
	h := newHarness(t, backend, withGiveaways(g), withSubscriptions(subs))
	return h, tg, g
}

func (h *harness) passCaptcha(users ...int64) {
	h.t.Helper()
	for _, u := range users {
		if err := h.store.CompleteCaptcha(context.Background(), u, time.Now()); err != nil {
			h.t.Fatal(err)
		}
	}
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _ = s.(string)
	}
	return out
}

// TestRegisterRules: each rule's refusal with its status and details, a
// chat Telegram cannot answer for as 503 with Retry-After, a misconfigured
// chat as 502 naming it, and the new optional fields.
func TestRegisterRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h, tg, _ := rulesHarness(t, backend)
		h.passCaptcha(inBoth, onlyA, adminA, freshUser)
		rulesOf(t, h.do("PUT", "/api/participants/80/rules", map[string]any{
			"required_chats": []any{"@chan_a", -1001002}, "premium_only": true, "min_account_age_days": 30}))
		reg := func(user int64, extra map[string]any) reply {
			body := map[string]any{"giveaway_id": 80, "user_id": user, "is_premium": true}
			for k, v := range extra {
				body[k] = v
			}
			return h.do("POST", "/api/participants/register", body)
		}

		reg(inBoth, map[string]any{"is_premium": nil}).expect(t, http.StatusForbidden, "PREMIUM_REQUIRED")
		reg(inBoth, map[string]any{"is_premium": false}).expect(t, http.StatusForbidden, "PREMIUM_REQUIRED")
		tooNew := reg(freshUser, nil).expect(t, http.StatusForbidden, "ACCOUNT_TOO_NEW")
		age, _ := tooNew.body["account_age"].(map[string]any)
		if age["estimated"] != false || age["min_account_age_days"] != float64(30) || age["created_after"] == nil {
			t.Fatalf("account_age: %s", tooNew.raw)
		}
		missing := reg(onlyA, nil).expect(t, http.StatusForbidden, "USER_NOT_SUBSCRIBED")
		if got := strs(missing.body["missing_chats"]); !slices.Equal(got, []string{"-1001002"}) {
			t.Fatalf("missing_chats: %s", missing.raw)
		}
		admin := reg(adminA, nil).expect(t, http.StatusForbidden, "ADMIN_EXCLUDED")
		if got := strs(admin.body["admin_chats"]); !slices.Equal(got, []string{"@chan_a"}) {
			t.Fatalf("admin_chats: %s", admin.raw)
		}

		reg(inBoth, map[string]any{"is_premium": "yes"}).expect(t, http.StatusBadRequest, "INVALID_IS_PREMIUM")
		reg(inBoth, map[string]any{"referrer_user_id": inBoth}).expect(t, http.StatusBadRequest, "INVALID_REFERRER_USER_ID")
		reg(inBoth, map[string]any{"referrer_user_id": -4}).expect(t, http.StatusBadRequest, "INVALID_REFERRER_USER_ID")

		tg.FailChat("-1001002", telegramtest.Server50x(502))
		down := reg(inBoth, nil).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		if down.header.Get("Retry-After") == "" || down.num("retry_after") < 1 {
			t.Fatalf("no Retry-After: %v %s", down.header, down.raw)
		}
		tg.Heal()
		ok := reg(inBoth, map[string]any{"referrer_user_id": onlyA, "unknown_field": 1}).expect(t, http.StatusCreated, "")
		if ok.num("participant_id") < 1 {
			t.Fatalf("registered: %s", ok.raw)
		}

		rulesOf(t, h.do("PUT", "/api/participants/81/rules", map[string]any{"required_chats": []any{"@chan_a", "@chan_c"}}))
		bad := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 81, "user_id": inBoth}).
			expect(t, http.StatusBadGateway, "CHAT_MISCONFIGURED")
		if bad.str("chat") != "@chan_c" || bad.str("chat_problem") != "bot_not_admin" || bad.header.Get("Retry-After") != "" {
			t.Fatalf("misconfigured chat: %v %s", bad.header, bad.raw)
		}
	})
}

// TestEligibilityEndpoint: eligible, each reason, never a registration,
// and Telegram down as 503.
func TestEligibilityEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h, tg, giveaways := rulesHarness(t, backend)
		h.passCaptcha(inBoth, onlyA, adminA)
		rulesOf(t, h.do("PUT", "/api/participants/90/rules", map[string]any{
			"required_chats": []any{"@chan_a", "@chan_b"}, "premium_only": true, "min_account_age_days": 30}))
		rules := rulesOf(t, h.do("GET", "/api/participants/90/rules", nil))
		check := func(user int64, query string, want ...string) reply {
			t.Helper()
			r := h.do("GET", "/api/participants/90/eligibility/"+itoa(user)+query, nil).expect(t, http.StatusOK, "")
			if got := strs(r.body["reasons"]); !slices.Equal(got, want) || r.flag("eligible") != (len(want) == 0) {
				t.Fatalf("user %d: %s, want reasons %v", user, r.raw, want)
			}
			if r.str("rules_sha256") != rules.RulesSHA256 {
				t.Fatalf("rules_sha256 %s, want %s", r.str("rules_sha256"), rules.RulesSHA256)
			}
			return r
		}
		if r := check(inBoth, "?is_premium=true"); r.flag("requires_captcha") {
			t.Fatalf("eligible: %s", r.raw)
		}
		if r := check(freshUser, "", "not_premium", "account_too_new"); !r.flag("requires_captcha") {
			t.Fatalf("a user without the captcha: %s", r.raw)
		}
		if r := check(onlyA, "?is_premium=true", "not_subscribed"); !slices.Equal(strs(r.body["missing_chats"]), []string{"@chan_b"}) {
			t.Fatalf("missing_chats: %s", r.raw)
		}
		if r := check(adminA, "?is_premium=false", "admin", "not_premium"); !slices.Equal(strs(r.body["admin_chats"]), []string{"@chan_a"}) {
			t.Fatalf("admin_chats: %s", r.raw)
		}
		h.do("GET", "/api/participants/90/eligibility/"+itoa(inBoth)+"?is_premium=maybe", nil).expect(t, http.StatusBadRequest, "INVALID_IS_PREMIUM")
		h.do("GET", "/api/participants/90/eligibility/0", nil).expect(t, http.StatusBadRequest, "INVALID_USER_ID")
		if n := h.do("GET", "/api/participants/90/count", nil).num("count"); n != 0 {
			t.Fatalf("eligibility registered %d users", n)
		}

		id := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 90, "user_id": inBoth, "is_premium": true}).
			expect(t, http.StatusCreated, "").num("participant_id")
		if r := check(inBoth, "?is_premium=true", "already_entered"); r.num("participant_id") != id {
			t.Fatalf("already entered: %s", r.raw)
		}
		h.do("POST", "/api/participants/90/select-winners", map[string]any{"winner_count": 1}).expect(t, http.StatusOK, "")
		check(onlyA, "?is_premium=true", "winners_drawn")
		giveaways.mu.Lock()
		giveaways.finished[90] = true
		giveaways.mu.Unlock()
		check(onlyA, "?is_premium=true", "closed", "winners_drawn")

		rulesOf(t, h.do("PUT", "/api/participants/91/rules", map[string]any{"required_chats": []any{"@chan_a"}}))
		tg.Fail(telegramtest.Server50x(503))
		// A user Telegram was never asked about: nothing is cached.
		r := h.do("GET", "/api/participants/91/eligibility/300000050", nil).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("no Retry-After: %v", r.header)
		}
	})
}

// TestEligibilityWithoutRules: a giveaway without rules needs nothing
// but the captcha, as registration does.
func TestEligibilityWithoutRules(t *testing.T) {
	h, tg, _ := rulesHarness(t, "sqlite")
	r := h.do("GET", "/api/participants/95/eligibility/"+itoa(onlyA), nil).expect(t, http.StatusOK, "")
	if !r.flag("eligible") || len(strs(r.body["reasons"])) != 0 || !r.flag("requires_captcha") || tg.Total() != 0 {
		t.Fatalf("without rules: %s (%d Telegram requests)", r.raw, tg.Total())
	}
}
